"""What is measured on a frame: face landmarks and their triangulation, the person mask, and
the MediaPipe loading both use."""
