/**
 * Which version each device should run, given the rollouts (assignments of
 * a version to a device, a group, a share of the fleet, or all of it).
 * Pure logic; the operations on rollouts are in actions.ts.
 *
 * The newest rollout that covers a device decides its version, except:
 * a rolled-back rollout counts for nothing, and a stopped one only keeps
 * the devices that already run it (it deploys to no one else).
 *
 * The rules ({@link desiredFor}) take data already read (fleet-data.ts);
 * {@link desiredNow} reads them in one transaction.
 */
import { createHash } from "node:crypto"
import type { RolloutInputs } from "./fleet-data.ts"
import type {
    DeviceRecord,
    DeviceState,
    FleetStore,
    Rollout,
    Scope,
} from "../store/types.ts"

/** Stable per-device order for a version's canary (same order when widened). */
export function canaryRank(version: string, deviceId: string): string {
    return createHash("sha256").update(`${version}\0${deviceId}`).digest("hex")
}

/**
 * Devices a percentage covers: the first ceil(p% of the fleet) in the
 * version's canary order, so a canary covers exactly that part and
 * widening it keeps everyone already in.
 */
export function percentMembers(
    version: string,
    percent: number,
    deviceIds: string[]
): Set<string> {
    const n = Math.ceil(
        (Math.min(100, Math.max(0, percent)) * deviceIds.length) / 100
    )
    // each rank hashed once (not twice per comparison)
    const rank = new Map(deviceIds.map(id => [id, canaryRank(version, id)]))
    const order = [...deviceIds].sort((a, b) =>
        rank.get(a)! < rank.get(b)! ? -1 : 1
    )
    return new Set(order.slice(0, n))
}

/** Whether `scope` (of a rollout of `version`) covers `device`. */
export function covers(
    r: Pick<Rollout, "scope" | "version">,
    device: DeviceRecord,
    allIds: string[]
): boolean {
    const s = r.scope
    switch (s.kind) {
        case "all":
            return true
        case "device":
            return device.id === s.value
        case "group":
            return device.groups.includes(s.value)
        case "percent":
            // 100 % is every device: no canary order needed
            if (s.value >= 100) return true
            return percentMembers(r.version, s.value, allIds).has(device.id)
    }
}

/** The version a device should run and the rollout that says so. */
export interface Desired {
    version: string
    hash: string
    rolloutId: number
}

/**
 * The version `deviceId` should run, or undefined when no rollout covers it
 * (the service then leaves it alone). `currentHash` is what the device
 * runs (a stopped rollout keeps only the devices that run its version).
 */
export function desiredFor(
    data: RolloutInputs,
    deviceId: string,
    currentHash: string,
    opts: {
        exclude?: number
        /**
         * The percentage (< 100 %) rollouts that cover the device, decided
         * already (canary-members.ts): `data.devices` need hold only it.
         */
        canaries?: ReadonlySet<number>
    } = {}
): Desired | undefined {
    const device = data.devices.find(d => d.id === deviceId)
    if (!device) return undefined
    const { canaries } = opts
    // the fleet's ids only for a percentage below 100 (the one scope that
    // needs them): a canary order per check-in made it O(fleet log fleet)
    let allIds: string[] | undefined
    const idsFor = (r: Rollout) =>
        r.scope.kind === "percent" && r.scope.value < 100
            ? (allIds ??= data.devices.map(d => d.id))
            : []
    const { rollouts } = data
    for (let i = rollouts.length - 1; i >= 0; i--) {
        const r = rollouts[i]
        if (r.id === opts.exclude || r.status === "rolled-back") continue
        if (canaries && isCanary(r)) {
            if (!canaries.has(r.id)) continue
        } else if (!covers(r, device, idsFor(r))) continue
        const v = data.versions.find(x => x.name === r.version)
        if (!v) continue
        if (r.status === "stopped" && v.hash !== currentHash) continue
        return { version: v.name, hash: v.hash, rolloutId: r.id }
    }
    return undefined
}

/** Whether `r` is a percentage below 100 % (the one scope with a canary order). */
function isCanary(r: Rollout): boolean {
    return r.scope.kind === "percent" && r.scope.value < 100
}

/**
 * Percentage membership decided from ranks kept once per rollout
 * (canary-members.ts holds them), instead of reading the fleet.
 */
export interface KeptMembership {
    /** Whether the percentage rollout `r` covers `deviceId`, read through `tx`. */
    covers(
        tx: FleetStore,
        r: Pick<Rollout, "id" | "version"> & { percent: number },
        deviceId: string
    ): Promise<boolean>
}

/**
 * {@link desiredFor} read from `store` now, in one transaction (joined
 * when `store` is a transaction's `tx`): rollouts, devices and the
 * device's state from one moment, whatever other instances change.
 */
export async function desiredNow(
    store: FleetStore,
    deviceId: string,
    opts: { exclude?: number; members?: KeptMembership } = {}
): Promise<Desired | undefined> {
    return (await desiredAndStateNow(store, deviceId, opts)).desired
}

/** {@link desiredNow} and the device's state it was decided on. */
export function desiredAndStateNow(
    store: FleetStore,
    deviceId: string,
    opts: {
        exclude?: number
        /** Canary membership kept once per rollout (else the fleet is read). */
        members?: KeptMembership
    } = {}
): Promise<{ desired: Desired | undefined; state: DeviceState }> {
    return store.atomically(
        async tx => {
            // one after another: a PostgreSQL transaction is one connection
            const rollouts = await tx.rollouts()
            const versions = await tx.versions()
            const device = await tx.device(deviceId)
            const state = await tx.state(deviceId)
            if (!device) return { desired: undefined, state }
            // this runs on each check-in and each held connection's recheck: a
            // canary's order is the fleet's, so without `members` (kept once
            // per rollout) every device is read
            const canaries = rollouts.filter(
                r => r.status !== "rolled-back" && isCanary(r)
            )
            const { members } = opts
            let covered: Set<number> | undefined
            if (members) {
                covered = new Set()
                for (const r of canaries)
                    if (
                        r.id !== opts.exclude &&
                        (await members.covers(
                            tx,
                            {
                                ...r,
                                percent: (r.scope as { value: number }).value,
                            },
                            deviceId
                        ))
                    )
                        covered.add(r.id)
            }
            const devices =
                canaries.length && !covered ? await tx.devices() : [device]
            const desired = desiredFor(
                { rollouts, versions, devices },
                deviceId,
                state.currentHash,
                { exclude: opts.exclude, canaries: covered }
            )
            return { desired, state }
        },
        // reads only: it waits for no other transaction (what it decides is
        // checked again under the deploy lease, see session.ts)
        { readOnly: true }
    )
}

/** Parses `device:ID`, `group:NAME`, `percent:N` / `N%`, `all`. */
export function parseScope(s: string): Scope {
    if (s === "all") return { kind: "all" }
    const pm = /^(?:percent:)?(\d+(?:\.\d+)?)%?$/.exec(s)
    if (pm && (s.endsWith("%") || s.startsWith("percent:"))) {
        const value = Number(pm[1])
        if (!(value > 0 && value <= 100))
            throw new RangeError("percent: 0 < p <= 100")
        return { kind: "percent", value }
    }
    const m = /^(device|group):(.+)$/.exec(s)
    if (m) return { kind: m[1] as "device" | "group", value: m[2] }
    throw new RangeError(
        `scope ${JSON.stringify(s)}: use device:ID, group:NAME, N% or all`
    )
}

/** Human form of a scope. */
export function scopeText(s: Scope): string {
    return s.kind === "all"
        ? "all"
        : s.kind === "percent"
          ? `${s.value}%`
          : `${s.kind}:${s.value}`
}
