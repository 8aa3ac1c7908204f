"""Start and stop real Erlang VMs for tests, benchmarks and the local demo (standard library only).

``erlang/launcher.py`` is the entry point and re-exports the public API; the modules, each
importing only those before it: ``literals`` (Erlang source literals), ``runtimes`` (OTP 25 /
OTP 28), ``build`` (compiling the stand-in), ``nodes`` (EPMD, generic nodes), ``standin``
(profiles, stand-in nodes and clusters, the hidden-node probe), ``detached`` (nodes that outlive
the process), ``cli`` (the command line).
"""
