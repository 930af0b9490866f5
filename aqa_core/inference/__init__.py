"""Which engine runs the backbone on this machine, chosen by measurement and cached.

``runtime.py`` says where and in what precision PyTorch runs; this package goes one step further:
it builds every engine that could run the I3D here (PyTorch float32 or bf16, batched or clip by
clip, OpenVINO when it is installed), times each on a generated dive, checks that its scores
agree with float32 PyTorch within half a point for the bundle's own decoding, and keeps the
fastest that agrees. The choice is cached per weights, bundle, CPU and library versions, because
measuring takes tens of seconds and the answer only changes when one of those does.

* ``cpu``        what the CPU computes natively (AVX-512, its bf16 extension, AMX)
* ``engines``    the ``Engine`` interface and the PyTorch engines
* ``openvino_engine``  the optional OpenVINO engine and its converted model beside the weights
* ``agreement``  how far an engine's scores move from float32's
* ``choice``     measure, choose, cache, explain
"""
