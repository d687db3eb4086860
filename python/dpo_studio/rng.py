"""The seeded PRNG of src/protocol/rng.ts (xoshiro128** seeded by splitmix32), so that the eval split
is the same pairs on both engines; test/conformance/eval-split holds the cases both sides pass."""

M32 = 0xFFFFFFFF


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & M32


def _imul(a: int, b: int) -> int:
    return (a * b) & M32


class Rng:
    def __init__(self, seed: int) -> None:
        x = seed & M32
        self.s = [0, 0, 0, 0]
        for i in range(4):
            x = (x + 0x9E3779B9) & M32
            z = x
            z = _imul(z ^ (z >> 16), 0x85EBCA6B)
            z = _imul(z ^ (z >> 13), 0xC2B2AE35)
            self.s[i] = (z ^ (z >> 16)) & M32

    def next_uint32(self) -> int:
        s = self.s
        result = _imul(_rotl(_imul(s[1], 5), 7), 9)
        t = (s[1] << 9) & M32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 11)
        return result

    def shuffle(self, items: list) -> list:
        """Fisher-Yates in place, drawing as the TypeScript Rng.shuffle does."""
        for i in range(len(items) - 1, 0, -1):
            j = self.next_uint32() % (i + 1)
            items[i], items[j] = items[j], items[i]
        return items


def held_out_indices(n: int, fraction: float, seed: int) -> list[int]:
    """src/protocol/eval-split.ts's heldOutIndices: round(n · fraction) (at least 1) seeded indices, ascending."""
    if fraction <= 0 or n < 2:
        return []
    order = Rng((seed ^ 0x5EED) & M32).shuffle(list(range(n)))
    # JS Math.round rounds halves up; Python's round() rounds them to even.
    k = max(1, int(n * fraction + 0.5))
    return sorted(order[:k])
