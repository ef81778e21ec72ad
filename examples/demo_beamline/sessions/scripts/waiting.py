# A script file of the demo session (`scripts: ./scripts`): its functions are procedures
# too, run after the setup file in the same namespace.


def wait_and_count(seconds: float = 1.0, count_time: float = 0.1) -> None:
    """Wait (StopProcedure or AbortProcedure end the wait), then count once with the
    active measurement group."""
    print(f"waiting {seconds:g} s")
    sleep(seconds)
    ct(count_time)
