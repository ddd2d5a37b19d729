"""Model: shapes at tiny sizes, no NaN, backward, the rectangular audio kernel, factorized attention, registry."""

from __future__ import annotations

import pytest
import torch
import torchvision

from tavlo_model import create_model, list_models
from tavlo_model.attention import Attention, FactorizedBlock, attention_scores
from tavlo_model.audio import AudioEncoder
from tavlo_model.errors import TavloError
from tavlo_model.loss import frame_mil_loss

from .conftest import TINY


def _inputs(model, b=2):
    cfg = model.cfg
    torch.manual_seed(0)
    return torch.randn(b, cfg.num_frames, 3, cfg.img_size, cfg.img_size), torch.randn(b, 1, cfg.n_mels,
                                                                                        cfg.spec_frames)


@pytest.mark.parametrize("name,spatial,radius", [("tavlo_r18_t4", "separate", -1), ("ezvsl_r18", "separate", -1),
                                                 ("tavlo_r18_t4", "joint", -1), ("tavlo_r18_t4", "separate", 1),
                                                 ("tavlo_r18_t4", "separate", 0), ("ezvsl_r18", "joint", -1),
                                                 ("tavlo_r18_t4", "audio_to_visual", 0),
                                                 ("tavlo_r18_t4", "audio_to_visual", -1)])
def test_shapes_no_nan_and_backward(name, spatial, radius):
    model = create_model(name, **TINY, spatial_attention=spatial, spatial_radius=radius)
    frames, spec = _inputs(model)
    t, g = model.cfg.num_frames, model.grid
    tokens = model.forward_features(frames, spec)
    assert tokens.shape == (2, t, 1 + g * g, model.cfg.dim)
    sims = model.forward_head(tokens)
    assert sims.shape == (2, t, g, g)
    assert torch.isfinite(sims).all() and sims.abs().max() <= 1 + 1e-5  # cosine similarities
    pairs = model(frames, spec, negatives=-1)
    assert pairs.shape == (2, 2, t, g * g)
    torch.testing.assert_close(pairs[0], sims.flatten(2))  # shift 0: each clip with its own audio
    loss = frame_mil_loss(pairs, model.cfg.tau, model.cfg.negatives)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert model.visual.conv1.weight.grad.abs().sum() > 0 and model.audio.final.weight.grad.abs().sum() > 0


def test_modalities_stay_apart_without_cross_modal_attention():
    model = create_model("tavlo_r18_t4", **TINY, spatial_attention="separate").eval()
    frames, spec = _inputs(model)
    with torch.no_grad():
        a, v = model.embed(model.forward_features(frames, spec))
        a2, v2 = model.embed(model.forward_features(frames, spec.flip(0)))  # swap the clips' audio
        pairs = model(frames, spec, negatives=-1)
    torch.testing.assert_close(v2, v)  # locations do not see the audio ...
    torch.testing.assert_close(a2, a.flip(0))  # ... and the audio does not see the frames
    torch.testing.assert_close(pairs[1, 0], torch.einsum("te,tne->tn", a[0], v[1]))  # audio 0 with frames 1
    for mode in ("joint", "audio_to_visual"):
        cross = create_model("tavlo_r18_t4", **TINY, spatial_attention=mode).eval()
        with torch.no_grad():
            aj, vj = cross.embed(cross.forward_features(frames, spec))
            aj2, vj2 = cross.embed(cross.forward_features(frames, spec.flip(0)))
            pairs = cross(frames, spec, negatives=-1)
            swapped = cross.forward_head(cross.forward_features(frames, spec, torch.tensor([[0, 1], [1, 0]])))
        assert not torch.allclose(vj, vj2)  # a cross-encoder: locations depend on the audio they are paired with
        # the audio token reads the frames in joint mode only
        assert torch.allclose(aj2, aj.flip(0), atol=1e-6) == (mode == "audio_to_visual")
        torch.testing.assert_close(pairs[1], swapped.flatten(2))  # shift 1: audio i with the frames of clip i+1


@pytest.mark.parametrize("spec_frames,num_frames", [(100, 4), (100, 1), (96, 3), (150, 5), (37, 2), (300, 8)])
def test_rectangular_kernel_gives_one_token_per_frame(spec_frames, num_frames):
    enc = AudioEncoder(n_mels=40, spec_frames=spec_frames, num_frames=num_frames, channels=(8, 16), out_dim=12).eval()
    h_a, w_a = enc.feat_size
    assert enc.kernel == (h_a, w_a // num_frames)  # K_h = H_a, K_w = floor(W_a / T)
    spec = torch.randn(3, 1, 40, spec_frames, requires_grad=True)
    tokens = enc(spec)
    assert tokens.shape == (3, num_frames, 12)
    # token t looks at segment t: its input-gradient mass is centred inside the t-th T-th of the spectrogram
    cols = torch.arange(spec_frames, dtype=torch.float64)
    for t in range(num_frames):
        (grad,) = torch.autograd.grad(tokens[0, t].sum(), spec, retain_graph=True)
        mass = grad[0, 0].abs().sum(0).double()
        centre = float((mass * cols).sum() / mass.sum())
        seg = spec_frames / num_frames
        assert t * seg - 0.1 * seg <= centre <= (t + 1) * seg + 0.1 * seg, (t, centre, seg)


def test_audio_encoder_rejects_wrong_sizes():
    with pytest.raises(TavloError, match="fewer than T"):
        AudioEncoder(n_mels=40, spec_frames=12, num_frames=8, channels=(8, 16), out_dim=4)
    enc = AudioEncoder(n_mels=40, spec_frames=100, num_frames=4, channels=(8,), out_dim=4)
    with pytest.raises(TavloError, match="expected a"):
        enc(torch.zeros(1, 1, 40, 90))


def _attention_cost(model, frames, spec) -> int:
    """Attention scores actually computed, counted by hooks on every Attention module: batch * heads * L^2."""
    seen = []
    hooks = [m.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape[0] * mod.num_heads
                                                                       * args[0].shape[1] ** 2))
             for m in model.modules() if isinstance(m, Attention)]
    with torch.no_grad():
        model(frames, spec)
    for h in hooks:
        h.remove()
    return sum(seen)


@pytest.mark.parametrize("spatial,radius", [("separate", -1), ("joint", -1), ("separate", 0), ("audio_to_visual", 0)])
def test_attention_is_factorized_and_linear_in_time(spatial, radius):
    costs = {}
    for t in (2, 4, 8):
        model = create_model("tavlo_r18_t4", **{**TINY, "num_frames": t, "clip_seconds": 0.25 * t, "img_size": 96,
                                                "spatial_attention": spatial, "spatial_radius": radius}).eval()
        n = 1 + model.grid ** 2
        s = n if spatial != "separate" else 0 if radius == 0 else n - 1  # tokens per spatial attention
        costs[t] = _attention_cost(model, *_inputs(model))
        assert costs[t] == attention_scores(t, n, model.cfg.depth, model.cfg.num_heads, 2, spatial, radius)
        joint = model.cfg.depth * model.cfg.num_heads * 2 * (t * n) ** 2  # one attention over all T*N tokens
        assert costs[t] < joint
        # per token about N + T scores (joint: T * N): linear in the T*N token count while T << N
        assert costs[t] == model.cfg.depth * model.cfg.num_heads * 2 * t * (s * s + n * t)
    assert costs[4] / costs[2] == pytest.approx((4 * s * s + 16 * n) / (2 * s * s + 4 * n))
    assert costs[8] / costs[4] == pytest.approx((8 * s * s + 64 * n) / (4 * s * s + 16 * n))
    if s:  # spatial attention dominates while T < H*W: doubling T about doubles the cost
        assert 2.0 <= costs[8] / costs[4] <= 2.0 * (1 + 4 * n / (s * s))


@pytest.mark.parametrize("spatial,radius", [("separate", 1), ("separate", 0), ("joint", 1), ("audio_to_visual", 1),
                                            ("audio_to_visual", 0)])
def test_spatial_radius_limits_which_tokens_mix(spatial, radius):
    grid, t, d = 5, 3, 16
    block = FactorizedBlock(d, 2, spatial=spatial, grid=grid, radius=radius).eval()
    x = torch.randn(1, t, 1 + grid * grid, d)
    x2 = x.clone()
    x2[:, :, 1 + 2 * grid + 2] += torch.randn(d)  # perturb the visual token at grid cell (2, 2) in every frame
    with torch.no_grad():
        moved = (block(x) - block(x2)).abs().amax(dim=(0, 1, 3)) > 1e-6
    cells = moved[1:].reshape(grid, grid)
    yy, xx = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    near = torch.maximum((yy - 2).abs(), (xx - 2).abs()) <= radius
    assert torch.equal(cells, near)  # exactly the cells within the radius
    assert bool(moved[0]) == (spatial == "joint")  # the audio token sees the frame only in joint mode
    y = x.clone()
    y[:, :, 0] += torch.randn(d)  # perturb the audio token of every frame
    with torch.no_grad():
        heard = (block(x) - block(y)).abs().amax(dim=(0, 1, 3)) > 1e-6
    assert bool(heard[1:].all()) == (spatial != "separate")  # every location reads its frame's audio token ...
    assert not heard[1:].any() or spatial != "separate"  # ... and none does when the modalities are kept apart


@pytest.mark.parametrize("stages,channels", [(2, 32), (3, 64), (4, 128)])
def test_lighter_trunks_stop_early(stages, channels):
    model = create_model("tavlo_r18_t4", **{**TINY, "visual_stages": stages, "visual_width": 16})
    assert model.visual.out_channels == channels and hasattr(model.visual, "layer4") == (stages == 4)
    frames, spec = _inputs(model)
    assert model(frames, spec).shape[-1] == model.grid == model.visual(frames[:, 0]).shape[-1]


def test_registry_fails_loudly():
    assert {"tavlo_r18_t4", "ezvsl_r18"} <= set(list_models())
    with pytest.raises(TavloError, match="unknown model 'tavlo_r50'"):
        create_model("tavlo_r50")
    with pytest.raises(TavloError, match="unknown config key"):
        create_model("tavlo_r18_t4", num_frame=4)
    with pytest.raises(TavloError, match="negatives"):
        create_model("tavlo_r18_t4", negatives="min")
    base = create_model("ezvsl_r18", **TINY)
    assert base.cfg.num_frames == 1 and base.cfg.negatives == "max"
    paper = create_model("tavlo_r18_t4").cfg  # the paper's model: joint attention, mean negatives, T = 4, 224 px
    assert (paper.spatial_attention, paper.negatives, paper.num_frames, paper.img_size, paper.depth) == (
        "joint", "mean", 4, 224, 2)
    from tavlo_model import variants

    for name, fn in variants.VARIANTS.items():  # every deviating variant says why in its docstring
        assert fn.__doc__ and (name in ("tavlo_r18_t4", "ezvsl_r18") or "Deviates" in fn.__doc__
                               or name.endswith(("_cpu", "_cpu_mean"))), name


def test_imagenet_weights_load_from_an_explicit_path(tmp_path):
    reference = torchvision.models.resnet18(weights=None).eval()
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    model = create_model("tavlo_r18_t4", visual_weights=str(path), img_size=64).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref = torch.nn.Sequential(*list(reference.children())[:-2])(x)
        torch.testing.assert_close(model.visual(x), ref)
    with pytest.raises(TavloError, match="width 32"):
        create_model("tavlo_r18_t4", visual_weights=str(path), visual_width=32)
    with pytest.raises(TavloError, match="never downloaded"):
        create_model("tavlo_r18_t4", visual_weights=str(tmp_path / "absent.pth"))


def test_patch_trunk_bounds_what_a_location_sees():
    model = create_model("tavlo_r18_t4", **{**TINY, "visual_patch": 16, "visual_stages": 3}).eval()
    assert model.grid == 64 // 8
    frames, spec = _inputs(model)
    changed = frames.clone()
    changed[..., :4, :4] = 5.0  # pixels that only the top-left location's patch (rows/cols -4..11) covers
    with torch.no_grad():
        moved = (model.encode(frames, spec)[1] - model.encode(changed, spec)[1]).abs().amax(dim=(0, 1, 3)) > 0
    assert moved.reshape(8, 8).nonzero().tolist() == [[0, 0]]
    with pytest.raises(TavloError, match="visual_patch"):
        create_model("tavlo_r18_t4", **{**TINY, "visual_patch": 12})  # half of 12 does not divide 64
