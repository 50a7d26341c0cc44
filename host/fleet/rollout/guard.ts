/**
 * What stops a rollout by itself: a device that breaks after an update
 * (crashed or silent) and an artifact refused before deploy (damaged, or
 * its release signature no longer checks). Each is one transaction: the
 * device's state, the rollout's status and the event rows change together.
 */
import { desiredNow } from "./desired.ts"
import { stop } from "./actions.ts"
import type { FleetStore } from "../store/types.ts"

/**
 * Records an event (database row through `tx`, so inside a transaction it
 * commits with the rest, and a log line).
 */
export type EventSink = (
    tx: FleetStore,
    deviceId: string,
    kind: string,
    detail: string
) => Promise<void>

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
): Promise<void> {
    return store.atomically(async tx => {
        const s = await tx.state(deviceId)
        await tx.updateState(deviceId, { health })
        await event(tx, deviceId, health, detail)
        if (!o.autoStop || s.lastDeployResult !== "ok") return
        const want = await desiredNow(tx, deviceId)
        if (!want || want.hash !== s.lastDeployHash) return
        const r = (await tx.rollouts()).find(x => x.id === want.rolloutId)
        if (r?.status !== "active") return
        await stop(
            tx,
            `${deviceId} ${health} after updating to ${want.version}`,
            r.id,
            o.now
        )
        await event(
            tx,
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
): Promise<void> {
    return store.atomically(async tx => {
        await tx.updateState(deviceId, {
            lastDeployResult: "refused",
            lastDeployHash: want.hash,
            lastDeployAt: o.now,
            lastError: `artifact refused: ${why}`,
            lastErrorAt: o.now,
        })
        await event(tx, deviceId, "refused", `${want.version}: ${why}`)
        if (!o.autoStop) return
        const r = (await tx.rollouts()).find(x => x.id === want.rolloutId)
        if (r?.status === "active")
            await stop(tx, `artifact refused: ${why}`, r.id, o.now)
    })
}
