import { randomBuffer } from "@devicescript/crypto"

/** A source of uniformly distributed numbers in [0, 1). */
export type RandomSource = () => number

/**
 * Upper bound of the delay before retry number `attempt` (0 for the first
 * retry): `min(capMs, baseMs * 2^attempt)`. Never NaN, never above `capMs`.
 */
export function backoffCeiling(
    attempt: number,
    baseMs: number,
    capMs: number
): number {
    if (!(baseMs > 0) || !(capMs > 0)) return 0
    if (!(attempt > 0)) attempt = 0
    let c = baseMs
    // doubling loop instead of 2 ** attempt: no overflow to Infinity
    for (let i = 0; i < attempt && c < capMs; i++) c *= 2
    return c < capMs ? c : capMs
}

/**
 * "Full jitter" exponential backoff: a whole number of milliseconds drawn
 * uniformly from [0, backoffCeiling(attempt, baseMs, capMs)).
 * `random` must return numbers in [0, 1); values outside are clamped.
 */
export function fullJitterDelay(
    attempt: number,
    baseMs: number,
    capMs: number,
    random: RandomSource
): number {
    const ceiling = backoffCeiling(attempt, baseMs, capMs)
    let r = random()
    if (!(r > 0)) r = 0 // also NaN
    if (r >= 1) r = 1 - 1 / 4294967296
    return Math.floor(r * ceiling)
}

/** Uniform number in [0, 1) from the device's cryptographic RNG (32 bits). */
export function cryptoRandom(): number {
    return randomBuffer(4).getAt(0, "u32") / 4294967296
}

/**
 * Attempt counter around {@link fullJitterDelay}: `next()` gives the delay
 * before the next retry and counts the attempt; `reset()` after a success.
 */
export class Backoff {
    attempt = 0

    constructor(
        readonly baseMs: number,
        readonly capMs: number,
        readonly random: RandomSource = cryptoRandom
    ) {}

    /** Delay in ms before the next retry; increments the attempt count. */
    next(): number {
        const d = fullJitterDelay(
            this.attempt,
            this.baseMs,
            this.capMs,
            this.random
        )
        this.attempt++
        return d
    }

    /** Back to the first attempt (call after a success). */
    reset() {
        this.attempt = 0
    }
}
