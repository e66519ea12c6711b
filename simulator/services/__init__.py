"""The services the Simulator is composed of, one per feature of Lambda's API.

Each owns its state and gets its collaborators when it is made (simulator.py makes them, in order), so a
service can be read, and tested, without the rest: which function a request names (lookup), describing
functions (functions), versions and aliases (versions), layers, concurrency and metrics (concurrency),
asynchronous invocation (events), and VPCs (vpcs). The invocation path they serve is invoke.py's.
"""
