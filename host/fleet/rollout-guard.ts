/**
 * What stops a rollout by itself: a device that breaks after an update
 * (crashed or silent) and an artifact refused before deploy (damaged, or
 * its release signature no longer checks). Each is one transaction: the
 * device's state, the rollout's status and the event rows change together.
 */
import { desiredFor, stop } from "./rollout.ts"
import type { FleetStore } from "./storage.ts"

/** Records an event (database row and log line). */
export type EventSink = (deviceId: string, kind: string, detail: string) => void

/**
 * Marks a device crashed or silent; when it broke running the version its
 * active rollout deployed, and `autoStop`, stops that rollout.
 */
export function markBroken(
    store: FleetStore,
    event: EventSink,
    deviceId: string,
    health: "crashed" | "silent",
    detail: string,
    o: { autoStop: boolean; now: number }
): void {
    store.atomically(() => {
        const s = store.state(deviceId)
        store.updateState(deviceId, { health })
        event(deviceId, health, detail)
        if (!o.autoStop || s.lastDeployResult !== "ok") return
        const want = desiredFor(store, deviceId)
        if (!want || want.hash !== s.lastDeployHash) return
        const r = store.rollouts().find(x => x.id === want.rolloutId)
        if (r?.status !== "active") return
        stop(
            store,
            `${deviceId} ${health} after updating to ${want.version}`,
            r.id,
            o.now
        )
        event(
            deviceId,
            "rollout-stopped",
            `rollout ${r.id} (${want.version}): ${health}`
        )
    })
}

/**
 * Records that the artifact of `version` was refused for `deviceId` before
 * anything was sent, and (with `autoStop`) stops the rollout that assigned it.
 */
export function refuseArtifact(
    store: FleetStore,
    event: EventSink,
    deviceId: string,
    want: { version: string; hash: string; rolloutId: number },
    why: string,
    o: { autoStop: boolean; now: number }
): void {
    store.atomically(() => {
        store.updateState(deviceId, {
            lastDeployResult: "refused",
            lastDeployHash: want.hash,
            lastDeployAt: o.now,
            lastError: `artifact refused: ${why}`,
            lastErrorAt: o.now,
        })
        event(deviceId, "refused", `${want.version}: ${why}`)
        if (!o.autoStop) return
        const r = store.rollouts().find(x => x.id === want.rolloutId)
        if (r?.status === "active")
            stop(store, `artifact refused: ${why}`, r.id, o.now)
    })
}
