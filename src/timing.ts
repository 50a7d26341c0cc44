import * as ds from "@devicescript/core"
import { cryptoRandom } from "./backoff"

/**
 * What a schedule needs of the device: time since boot, a way to wait, and
 * the randomness of its retry jitter (as Azure's SDK for C passes time and
 * jitter into its retry arithmetic). The device's is {@link deviceTiming};
 * tests pass a scripted one.
 */
export interface Timing {
    /** milliseconds since boot */
    millis(): number
    /** waits `ms` milliseconds (yields to other fibers) */
    sleep(ms: number): Promise<void>
    /** a number drawn uniformly from [0, 1) */
    random(): number
}

/** `ds.millis`, `ds.sleep` and the device's cryptographic RNG. */
export const deviceTiming: Timing = {
    millis: ds.millis,
    sleep: ds.sleep,
    random: cryptoRandom,
}
