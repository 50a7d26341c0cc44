/**
 * Rows of the fleet database as records, the same for SQLite and
 * PostgreSQL (the schema is one, see schema.ts).
 */
import type {
    DeviceRecord,
    DeviceState,
    Rollout,
    VersionRecord,
} from "./types.ts"

/** A fresh state record. */
export function emptyState(id: string): DeviceState {
    return {
        id,
        connected: false,
        connectedTo: "",
        lastSeen: 0,
        currentHash: "",
        lastDeployResult: "",
        lastDeployAt: 0,
        lastDeployHash: "",
        deployBy: "",
        lastError: "",
        lastErrorAt: 0,
        health: "unknown",
        lastException: "",
        lastExceptionAt: 0,
        deployFailures: 0,
    }
}

/**
 * The condition on a `device_state` row's JSON for
 * `FleetStore.unsettledStates`, in each backend's dialect, with
 * {@link emptyState}'s defaults for fields the JSON lacks.
 */
export const UNSETTLED_SQLITE = `json_extract(json, '$.connected') = 1
    OR json_extract(json, '$.lastDeployResult') = 'in-progress'
    OR (json_extract(json, '$.lastDeployResult') = 'ok'
        AND COALESCE(json_extract(json, '$.health'), 'unknown') = 'unknown')`
/** As {@link UNSETTLED_SQLITE}, for PostgreSQL (the column is text). */
export const UNSETTLED_POSTGRES = `(json::jsonb ->> 'connected') = 'true'
    OR (json::jsonb ->> 'lastDeployResult') = 'in-progress'
    OR ((json::jsonb ->> 'lastDeployResult') = 'ok'
        AND COALESCE(json::jsonb ->> 'health', 'unknown') = 'unknown')`

/** A device state from its stored JSON (fields added since default). */
export function toState(id: string, json: string): DeviceState {
    return { ...emptyState(id), ...JSON.parse(json), id }
}

/** A record from its row. */
export function rowToVersion(r: any): VersionRecord {
    return {
        name: r.name,
        hash: r.hash,
        size: r.size,
        note: r.note,
        publishedAt: r.published_at,
        signature: r.signature,
    }
}

/** A record from its row. */
export function rowToDevice(r: any): DeviceRecord {
    return {
        id: r.id,
        key: r.key,
        groups: JSON.parse(r.groups_json),
        platformId: r.platform_id,
        createdAt: r.created_at,
    }
}

/** A record from its row. */
export function rowToRollout(r: any): Rollout {
    return {
        id: r.id,
        version: r.version,
        scope: JSON.parse(r.scope_json),
        status: r.status,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
        reason: r.reason,
    }
}
