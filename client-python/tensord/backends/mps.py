"""``tensord.backends.mps``: Apple's Metal backend, which no tensord daemon has."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
