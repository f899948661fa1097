"""Handlers loaded with --handler in the tests."""


def reverse(data):
    if not isinstance(data, str):
        raise ValueError("reverse takes a string")
    return data[::-1]


def upper(data):
    return str(data).upper()


def broken(data):
    raise RuntimeError("bug in handler")


def not_json(data):
    return {1, 2}


NOT_CALLABLE = 3


def slow(data):
    import time

    time.sleep(float(data))
    return "done"
