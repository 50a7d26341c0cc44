/**
 * Deploys give way to check-ins: each second the service measures how late
 * its event loop runs, and this instance lets fewer deploys run at once when
 * it runs late, more when it keeps up and every slot allowed is in use
 * (halved at once, grown by a quarter a step: deploys are background work,
 * a check-in is a device waiting). The fleet-wide bound (`--max-deploys`)
 * still holds on top. Pure arithmetic; deploy-slots.ts applies it.
 */

/** What the pace may do. */
export interface PaceLimits {
    /** The most deploys at once (the fleet-wide bound). */
    max: number
    /** The fewest it ever goes down to (a rollout always moves). */
    min: number
    /** Event loop delay (ms, 90th percentile over the last step) above which it slows. */
    highLagMs: number
    /** Delay below which it may speed up. */
    lowLagMs: number
}

/** The defaults: from the fleet bench, where a check-in is 4 or 5 round trips. */
export function defaultPace(max: number): PaceLimits {
    return { max, min: Math.min(max, 4), highLagMs: 40, lowLagMs: 15 }
}

/**
 * This instance's deploys at once for the next step, from `current`, the
 * loop delay measured over the last step and the deploys running here.
 */
export function nextDeployLimit(
    current: number,
    lagMs: number,
    running: number,
    l: PaceLimits
): number {
    if (lagMs > l.highLagMs) return Math.max(l.min, Math.floor(current / 2))
    if (lagMs < l.lowLagMs && running >= current)
        return Math.min(l.max, current + Math.max(1, Math.ceil(current / 4)))
    return Math.min(l.max, Math.max(l.min, current))
}
