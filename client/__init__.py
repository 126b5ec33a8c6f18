"""What people and schedulers do to plans, from outside the worker: starting plans,
schedule and revision actions, the simulated participants of the demo.
"""
