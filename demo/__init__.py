"""The demo: real models on loopback for the README's tour (``make demo``), also used by the tests.

``python -m demo`` trains the models on the shared data sets, serves them on ``127.0.0.1:5000`` and runs
the fairprobe service on ``127.0.0.1:8000`` with loopback opened as a model target:

- ``/adult/fair/...`` and ``/adult/biased/...``: logistic regressions on UCI Adult (``demo.adult``) in
  every format fairprobe speaks (``/invocations`` MLflow, ``/v1/chat/completions`` chat, ``/score``
  JSON, KServe v1/v2, CSV). The biased one learnt Adult's race gap through applicants' first names.
- ``/credit/direct``, ``/credit/proxy``, ``/credit/blind``: UCI German credit models (``demo.credit``)
  that penalise women directly, through a proxy field, or not at all.

``demo/profiles.csv`` holds 200 applicants from Adult's test split (``demo.adult.base_profiles`` with
seed 7, without the region field) and the ``*.yaml`` files are the README's probe, stress and search specs.
"""
