/**
 * How late the service's event loop runs: Node's own delay histogram
 * (`perf_hooks.monitorEventLoopDelay`), read and reset once a step.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks"

/** Samples the loop's delay; `lagMs()` gives the 90th percentile since the last call. */
export class LoopLag {
    private readonly h: IntervalHistogram = monitorEventLoopDelay({
        resolution: 10,
    })

    constructor() {
        this.h.enable()
    }

    /** The 90th percentile delay (ms) since the last call; starts over. */
    lagMs(): number {
        const ms = this.h.count ? this.h.percentile(90) / 1e6 : 0
        this.h.reset()
        return ms
    }

    stop() {
        this.h.disable()
    }
}
