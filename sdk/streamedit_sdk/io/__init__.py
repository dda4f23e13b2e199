"""Video in and out: files (:mod:`.video`), live sources and sinks (:mod:`.streams`) and
images (:mod:`.images`)."""
