/**
 * {@link desiredFor} for the whole fleet at once, for views that show every
 * device often (the console). The same rule as desired.ts, with each
 * rollout's membership worked out once instead of once per device: a
 * percentage's canary order costs a sort of the fleet, so asking device by
 * device costs that sort per device (seconds for a few hundred devices).
 * A test checks that the answers equal desiredFor's on random fleets.
 */
import { stateIn, type FleetData } from "./fleet-data.ts"
import { covers, percentMembers, type Desired } from "./desired.ts"
import type { DeviceRecord, Rollout } from "../store/types.ts"

/** A membership test per rollout (a percentage's members computed once). */
export function rolloutMembers(
    r: Rollout,
    allIds: string[]
): (d: DeviceRecord) => boolean {
    if (r.scope.kind === "percent") {
        const set = percentMembers(r.version, r.scope.value, allIds)
        return d => set.has(d.id)
    }
    return d => covers(r, d, allIds)
}

/** The version each device should run (undefined: no rollout covers it), by device id. */
export function desiredForAll(
    data: FleetData
): Map<string, Desired | undefined> {
    const { devices, rollouts } = data
    const allIds = devices.map(d => d.id)
    const members = rollouts.map(r => rolloutMembers(r, allIds))
    const versions = new Map(data.versions.map(v => [v.name, v]))
    const out = new Map<string, Desired | undefined>()
    for (const d of devices) {
        const current = stateIn(data, d.id).currentHash
        let want: Desired | undefined
        for (let i = rollouts.length - 1; i >= 0 && !want; i--) {
            const r = rollouts[i]
            if (r.status === "rolled-back" || !members[i](d)) continue
            const v = versions.get(r.version)
            if (!v || (r.status === "stopped" && v.hash !== current)) continue
            want = { version: v.name, hash: v.hash, rolloutId: r.id }
        }
        out.set(d.id, want)
    }
    return out
}
