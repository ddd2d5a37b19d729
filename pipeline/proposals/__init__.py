"""Proposals (pipeline step 5): detector boxes + audio tags + SAM masks → scenario and sounding-instance proposals.

Backends sit behind small protocols so they can be swapped by name (``detector.make_detector("yolo", ...)``,
``taggers.make_tagger("yamnet", ...)``, ``segmenter.make_segmenter("sam", ...)``); each has a ``"none"`` backend
for the no-weights mode. The stage entry is :func:`pipeline.proposals.propose.propose`. Heavy dependencies
(torch, ultralytics, segment-anything, ai-edge-litert) are imported only inside the backend that needs them.
"""
