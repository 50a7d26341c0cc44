/**
 * How far each rollout has got: of the devices it targets (those its scope
 * covers and no newer rollout has taken over), how many run its version
 * and how many failed (a refused or failed deploy of that version, or a
 * crash or silence after running it). Pure logic over {@link FleetData}.
 */
import { rolloutMembers } from "./desired-all.ts"
import { stateIn, type FleetData } from "./fleet-data.ts"
import { scopeText } from "./desired.ts"
import type {
    DeviceRecord,
    DeviceState,
    Rollout,
    RolloutStatus,
} from "../store/types.ts"

/** One rollout with its progress, as the console shows it. */
export interface RolloutProgress {
    id: number
    version: string
    /** Human form of the scope (`all`, `25%`, `group:lab`, `device:d1`). */
    scope: string
    /** The scope's percentage when it is one (widen needs it). */
    percent?: number
    status: RolloutStatus
    /** Active and every targeted device runs the version. */
    done: boolean
    reason: string
    createdAt: number
    updatedAt: number
    /** Devices this rollout decides for. */
    target: number
    /** Of those, how many run its version. */
    updated: number
    /** Of those, how many failed with it (deploy refused or failed, crashed, silent). */
    failed: number
    /** Of the failed, how many run it nonetheless (crashed or silent after the update). */
    broken: number
    /** Devices it covers that a newer rollout has taken over. */
    superseded: number
}

/** The progress of every rollout, oldest first. */
export function rolloutProgress(data: FleetData): RolloutProgress[] {
    const { devices, rollouts } = data
    const allIds = devices.map(d => d.id)
    const states = new Map<string, DeviceState>(
        devices.map(d => [d.id, stateIn(data, d.id)])
    )
    const hashOf = new Map(data.versions.map(v => [v.name, v.hash]))
    const members = new Map(
        rollouts.map(r => [r.id, rolloutMembers(r, allIds)])
    )
    /** Whether a rollout newer than `r` decides for `d` instead. */
    const taken = (r: Rollout, d: DeviceRecord, current: string) =>
        rollouts.some(
            n =>
                n.id > r.id &&
                n.status !== "rolled-back" &&
                hashOf.has(n.version) &&
                members.get(n.id)!(d) &&
                (n.status !== "stopped" || hashOf.get(n.version) === current)
        )
    return rollouts.map(r => {
        const hash = hashOf.get(r.version)
        let target = 0
        let updated = 0
        let failed = 0
        let broken = 0
        let superseded = 0
        for (const d of devices) {
            if (!members.get(r.id)!(d)) continue
            const st = states.get(d.id)!
            if (taken(r, d, st.currentHash)) {
                superseded++
                continue
            }
            target++
            if (hash && st.currentHash === hash) {
                updated++
                if (st.health === "crashed" || st.health === "silent") {
                    failed++
                    broken++
                }
            } else if (
                hash &&
                st.lastDeployHash === hash &&
                (st.lastDeployResult === "failed" ||
                    st.lastDeployResult === "refused")
            )
                failed++
        }
        return {
            id: r.id,
            version: r.version,
            scope: scopeText(r.scope),
            percent: r.scope.kind === "percent" ? r.scope.value : undefined,
            status: r.status,
            done: r.status === "active" && target > 0 && updated === target,
            reason: r.reason,
            createdAt: r.createdAt,
            updatedAt: r.updatedAt,
            target,
            updated,
            failed,
            broken,
            superseded,
        }
    })
}
