/**
 * The fleet as the console shows it: devices, rollouts with their progress,
 * published versions with their signature state. Built from the same
 * database the service and `fleet` use; it carries no secret (device keys
 * and connection strings stay out, field by field).
 */
import {
    type FleetRow,
    type FleetStore,
    fleetView,
    handshakeFailureText,
    readFleetData,
    rolloutProgress,
    type RolloutProgress,
} from "../fleet/index.ts"
import type { SignatureChecker, SignatureState } from "./signatures.ts"

/** One device row. */
/** A device as the console shows it: `fleet status`'s row and its handshakes. */
export interface DeviceRow extends FleetRow {
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
export async function fleetSnapshot(
    store: FleetStore,
    signatures: SignatureChecker,
    live: LiveFigures,
    releaseKey = ""
): Promise<FleetSnapshot> {
    // one transaction: the rows and the bars come from the same moment
    const data = await store.atomically(tx => readFleetData(tx))
    const devices = fleetView(data).map(row => ({
        ...row,
        handshakes: live
            ? handshakeFailureText(live.handshakeFailures?.[row.id]) ||
              "none in the last hour"
            : "unknown (no service answers)",
    }))
    return {
        devices,
        rollouts: rolloutProgress(data),
        versions: data.versions.map(v => ({
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
export async function deviceEvents(store: FleetStore, id: string, limit = 100) {
    return (await store.events(5000))
        .filter(e => e.deviceId === id)
        .slice(-limit)
        .map(e => ({ at: e.at, kind: e.kind, detail: e.detail }))
}
