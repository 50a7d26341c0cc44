/**
 * The fleet as `fleet status` and the console show it: each device with the
 * version it runs and the one it is assigned.
 */
import { desiredForAll } from "./desired-all.ts"
import { stateIn, type FleetData } from "./fleet-data.ts"

/** One device's row. */
export interface FleetRow {
    id: string
    groups: string[]
    /** `productKey/deviceName` on the platform, when known */
    platformId: string
    connected: boolean
    /** the version running (`?` before its first report) */
    current: string
    /** the version assigned (`-`: no rollout covers it) */
    desired: string
    lastDeploy: string
    lastDeployAt: number
    health: string
    lastError: string
    lastSeen: number
}

/** The fleet's versions and states, for display (assignments worked out once). */
export function fleetView(data: FleetData): FleetRow[] {
    const desired = desiredForAll(data)
    const byHash = new Map(data.versions.map(v => [v.hash, v.name]))
    return data.devices.map(d => {
        const s = stateIn(data, d.id)
        const want = desired.get(d.id)
        return {
            id: d.id,
            groups: d.groups,
            platformId: d.platformId,
            connected: s.connected,
            current: s.currentHash
                ? (byHash.get(s.currentHash) ??
                  `unknown:${s.currentHash.slice(0, 8)}`)
                : "?",
            desired: want ? want.version : "-",
            lastDeploy: s.lastDeployResult,
            lastDeployAt: s.lastDeployAt,
            health: s.health,
            lastError: s.lastError,
            lastSeen: s.lastSeen,
        }
    })
}
