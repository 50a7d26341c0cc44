import * as ds from "@devicescript/core"

/** Longest the firmware waits for the runtime's cloud connection to let go of the socket. */
export const CLOUD_WAIT_MS = 10000

/**
 * A wait to run before the firmware opens its own connection, for a device
 * in a fleet with over-the-air updates: the device has one socket and
 * whoever opens it last takes it, so while the runtime's cloud (fleet)
 * connection is up, the firmware waits (at most `maxWaitMs`) rather than
 * cut it off in the middle of an update check.
 */
export function cloudConnectionGate(maxWaitMs = CLOUD_WAIT_MS) {
    const cloud = new ds.CloudAdapter()
    return async () => {
        const end = ds.millis() + maxWaitMs
        while (ds.millis() < end && cloud.isBound) {
            if (!(await cloud.connected.read())) return
            await ds.sleep(250)
        }
    }
}
