"""Trust: a calibrated P(answer is correct) for every answer, and the evidence behind it.

``TrustScorer`` (scorer.py) is the one entry point the answer pipeline and ``/v1/score`` use;
the other modules are its signals (consistency, grounding, confidence, reflection), their
fusion and calibration, the presets that choose which signals to pay for, and the metrics
and runs that measure the result on labelled data.
"""
