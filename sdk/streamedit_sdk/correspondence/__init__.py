"""Dense correspondence current -> reference with a per-pixel uncertainty.

:mod:`.base` holds the types every estimator shares; :mod:`.flow` the weight-free estimator
(landmark-initialised DIS + Lucas-Kanade); :mod:`.model_folder` the exported model folder;
:mod:`.ppce` the learned PPCE, written once over an array side; :mod:`.factory` picks the
array side and the estimator for an :class:`~streamedit_sdk.config.EditorConfig`.
"""
