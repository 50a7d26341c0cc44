/**
 * The fleet as the console shows it: devices, rollouts with their progress,
 * published versions with their signature state. Built from the same
 * database the service and `fleet` use; it carries no secret (device keys
 * and connection strings stay out, field by field).
 */
import { handshakeFailureText } from "../fleet/handshake-failures.ts"
import { desiredForAll } from "../fleet/desired-all.ts"
import type { FleetStore } from "../fleet/storage.ts"
import {
    rolloutProgress,
    type RolloutProgress,
} from "../fleet/rollout-progress.ts"
import type { SignatureChecker, SignatureState } from "./signatures.ts"

/** One device row. */
export interface DeviceRow {
    id: string
    groups: string[]
    /** `productKey/deviceName` on the platform, when known. */
    platformId: string
    connected: boolean
    /** Version it runs (`?` never seen, `unknown:<hash>` not published). */
    current: string
    /** Version its rollout assigns (`-` none). */
    desired: string
    health: string
    lastSeen: number
    lastDeploy: string
    lastDeployAt: number
    lastError: string
    /** Failed handshakes of the last hour, as the running service counts them. */
    handshakes: string
}

/** One published version. */
export interface VersionRow {
    name: string
    hash: string
    size: number
    note: string
    publishedAt: number
    signature: SignatureState
}

/** Everything the fleet view shows. */
export interface FleetSnapshot {
    devices: DeviceRow[]
    rollouts: RolloutProgress[]
    versions: VersionRow[]
    /** Whether a fleet service answers on the state directory's control socket. */
    serviceRunning: boolean
    /** Fingerprint of the release key signatures are checked with, or "". */
    releaseKey: string
}

/** What the running service said on its control socket (or undefined). */
export type LiveFigures =
    | { handshakeFailures?: Record<string, any>; connected?: string[] }
    | undefined

/** Builds the snapshot. */
export function fleetSnapshot(
    store: FleetStore,
    signatures: SignatureChecker,
    live: LiveFigures,
    releaseKey = ""
): FleetSnapshot {
    // as rollout.ts's fleetView (what `fleet status` shows), with each
    // device's assignment from desiredForAll: the same answers, computed
    // once for the fleet
    const desired = desiredForAll(store)
    const devices = store.devices().map(d => {
        const st = store.state(d.id)
        const want = desired.get(d.id)
        return {
            id: d.id,
            groups: d.groups,
            platformId: d.platformId,
            connected: st.connected,
            current: st.currentHash
                ? (store.versionByHash(st.currentHash)?.name ??
                  `unknown:${st.currentHash.slice(0, 8)}`)
                : "?",
            desired: want ? want.version : "-",
            health: st.health,
            lastSeen: st.lastSeen,
            lastDeploy: st.lastDeployResult,
            lastDeployAt: st.lastDeployAt,
            lastError: st.lastError,
            handshakes: live
                ? handshakeFailureText(live.handshakeFailures?.[d.id]) ||
                  "none in the last hour"
                : "unknown (no service answers)",
        }
    })
    return {
        devices,
        rollouts: rolloutProgress(store),
        versions: store.versions().map(v => ({
            name: v.name,
            hash: v.hash,
            size: v.size,
            note: v.note,
            publishedAt: v.publishedAt,
            signature: signatures.state(v),
        })),
        serviceRunning: !!live,
        releaseKey,
    }
}

/** A device's recent events (newest last), from the bounded event log. */
export function deviceEvents(store: FleetStore, id: string, limit = 100) {
    return store
        .events(5000)
        .filter(e => e.deviceId === id)
        .slice(-limit)
        .map(e => ({ at: e.at, kind: e.kind, detail: e.detail }))
}
