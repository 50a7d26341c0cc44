/**
 * Deploys give way to check-ins: each second the service measures its load
 * (load-gauge.ts: how late its event loop runs, how much of a core it
 * used), and this instance lets fewer deploys run at once when it is
 * loaded, more when it keeps up and every slot allowed is in use (halved at
 * once, grown by a quarter a step: deploys are background work, a check-in
 * is a device waiting, and its platform reports wait behind it). The
 * fleet-wide bound (`--max-deploys`) still holds on top. Pure arithmetic;
 * deploy-slots.ts applies it.
 */
import type { Load } from "./load-gauge.ts"

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
    /** Share of a core used over the last step above which it slows. */
    highBusy: number
    /** Share below which it may speed up. */
    lowBusy: number
}

/**
 * The defaults. From the fleet bench at 10,000 devices: the loop ran less
 * than 30 ms late while the service used 90 % of its core and connections
 * waited seconds in the kernel to be accepted. An idle loop reads 0-3 ms
 * late on a busy machine. 10 ms was tried (2,000 devices, two instances on
 * PostgreSQL, all on 2 cores), before the pace counted the tries under way
 * (deploy-slots.ts): more deploys at once, and check-ins during the rollout
 * went from p50 139 to 345 ms; not tried since.
 */
export function defaultPace(max: number): PaceLimits {
    return {
        max,
        min: Math.min(max, 4),
        highLagMs: 30,
        lowLagMs: 5,
        highBusy: 0.8,
        lowBusy: 0.6,
    }
}

/**
 * This instance's deploys at once for the next step, from `current`, the
 * load measured over the last step and the deploys running here.
 */
export function nextDeployLimit(
    current: number,
    load: Load,
    running: number,
    l: PaceLimits
): number {
    if (load.lagMs > l.highLagMs || load.busy > l.highBusy)
        return Math.max(l.min, Math.floor(current / 2))
    if (load.lagMs < l.lowLagMs && load.busy < l.lowBusy && running >= current)
        return Math.min(l.max, current + Math.max(1, Math.ceil(current / 4)))
    return Math.min(l.max, Math.max(l.min, current))
}
