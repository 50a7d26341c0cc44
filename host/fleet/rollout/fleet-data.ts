/**
 * The fleet's data read at once from a {@link FleetStore}, for the pure
 * rollout rules (desired.ts, desired-all.ts, progress.ts, view.ts): they
 * take plain data, so they stay synchronous and the
 * store is read in one place.
 */
import type {
    DeviceRecord,
    DeviceState,
    FleetStore,
    Rollout,
    VersionRecord,
} from "../store/types.ts"
import { emptyState } from "../store/rows.ts"

/** What the rollout rules read: devices, rollouts (oldest first) and versions. */
export interface RolloutInputs {
    devices: DeviceRecord[]
    rollouts: Rollout[]
    versions: VersionRecord[]
}

/** {@link RolloutInputs} with every device's state. */
export interface FleetData extends RolloutInputs {
    /** States by device id (a device never seen has none: see {@link stateIn}). */
    states: Map<string, DeviceState>
}

/** Reads the devices, rollouts and versions. */
export async function readRolloutInputs(
    store: FleetStore
): Promise<RolloutInputs> {
    const [devices, rollouts, versions] = await Promise.all([
        store.devices(),
        store.rollouts(),
        store.versions(),
    ])
    return { devices, rollouts, versions }
}

/** Reads {@link FleetData}. */
export async function readFleetData(store: FleetStore): Promise<FleetData> {
    const [inputs, states] = await Promise.all([
        readRolloutInputs(store),
        store.states(),
    ])
    return { ...inputs, states: new Map(states.map(s => [s.id, s])) }
}

/** A device's state in `data` (a default one when never seen). */
export function stateIn(data: FleetData, id: string): DeviceState {
    return data.states.get(id) ?? emptyState(id)
}
