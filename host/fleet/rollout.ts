/**
 * Which version each device should run: the rollouts (assignments of a
 * version to a device, a group, a share of the fleet, or all of it) and the
 * operations on them. Pure logic over a {@link FleetStore}.
 *
 * The newest rollout that covers a device decides its version, except:
 * a rolled-back rollout counts for nothing, and a stopped one only keeps
 * the devices that already run it (it deploys to no one else).
 *
 * The rules ({@link desiredFor}) take data already read (fleet-data.ts);
 * the operations (assign, widen, stop, rollback) each run as one
 * transaction, so service instances that share a store never disagree.
 */
import { createHash } from "node:crypto"
import type { RolloutInputs } from "./fleet-data.ts"
import type { DeviceRecord, FleetStore, Rollout, Scope } from "./storage.ts"

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
    opts: { exclude?: number } = {}
): Desired | undefined {
    const device = data.devices.find(d => d.id === deviceId)
    if (!device) return undefined
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
        if (!covers(r, device, idsFor(r))) continue
        const v = data.versions.find(x => x.name === r.version)
        if (!v) continue
        if (r.status === "stopped" && v.hash !== currentHash) continue
        return { version: v.name, hash: v.hash, rolloutId: r.id }
    }
    return undefined
}

/**
 * {@link desiredFor} read from `store` now, in one transaction (joined
 * when `store` is a transaction's `tx`): rollouts, devices and the
 * device's state from one moment, whatever other instances change.
 */
export function desiredNow(
    store: FleetStore,
    deviceId: string,
    opts: { exclude?: number } = {}
): Promise<Desired | undefined> {
    return store.atomically(async tx => {
        // one after another: a PostgreSQL transaction is one connection
        const rollouts = await tx.rollouts()
        const versions = await tx.versions()
        const device = await tx.device(deviceId)
        const st = await tx.state(deviceId)
        if (!device) return undefined
        // every device only for a canary (its order is the fleet's): this
        // runs on each check-in and each held connection's recheck
        const canary = rollouts.some(
            r =>
                r.status !== "rolled-back" &&
                r.scope.kind === "percent" &&
                r.scope.value < 100
        )
        const devices = canary ? await tx.devices() : [device]
        return desiredFor(
            { rollouts, versions, devices },
            deviceId,
            st.currentHash,
            opts
        )
    })
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

/** Assigns a published version to a scope: a new active rollout. */
export function assign(
    store: FleetStore,
    version: string,
    scope: Scope,
    now = Date.now()
): Promise<Rollout> {
    return store.atomically(async tx => {
        if (!(await tx.versionByName(version)))
            throw new RangeError(`no published version ${version}`)
        if (scope.kind === "device" && !(await tx.device(scope.value)))
            throw new RangeError(`no device ${scope.value}`)
        if (
            scope.kind === "group" &&
            !(await tx.devices()).some(d => d.groups.includes(scope.value))
        )
            throw new RangeError(`no device is in group ${scope.value}`)
        return tx.addRollout({
            version,
            scope,
            status: "active",
            createdAt: now,
            updatedAt: now,
            reason: "",
        })
    })
}

/** The newest rollout that is not rolled back (optionally only active ones). */
export function latestRollout(
    rollouts: Rollout[],
    activeOnly = false
): Rollout | undefined {
    const rs = rollouts.filter(
        r =>
            r.status !== "rolled-back" && (!activeOnly || r.status === "active")
    )
    return rs[rs.length - 1]
}

async function pick(tx: FleetStore, id?: number): Promise<Rollout> {
    const rollouts = await tx.rollouts()
    const r =
        id === undefined
            ? latestRollout(rollouts)
            : rollouts.find(x => x.id === id)
    if (!r)
        throw new RangeError(
            id === undefined ? "no rollout" : `no rollout ${id}`
        )
    return r
}

/** Widens a percentage rollout (and restarts it if it was stopped). */
export function widen(
    store: FleetStore,
    percent: number,
    id?: number,
    now = Date.now()
): Promise<Rollout> {
    return store.atomically(async tx => {
        const r = await pick(tx, id)
        if (r.scope.kind !== "percent")
            throw new RangeError(`rollout ${r.id} is not a percentage`)
        if (!(percent > r.scope.value && percent <= 100))
            throw new RangeError(
                `widen: ${r.scope.value}% < new percentage <= 100`
            )
        return tx.updateRollout(r.id, {
            scope: { kind: "percent", value: percent },
            status: "active",
            reason: "",
            updatedAt: now,
        })
    })
}

/** Stops a rollout: no further device gets it; devices that run it keep it. */
export function stop(
    store: FleetStore,
    reason: string,
    id?: number,
    now = Date.now()
): Promise<Rollout> {
    return store.atomically(async tx => {
        const r = await pick(tx, id)
        return tx.updateRollout(r.id, {
            status: "stopped",
            reason,
            updatedAt: now,
        })
    })
}

/**
 * Rolls back: without `deviceId` the rollout (default: the newest) counts
 * for nothing any more, so the devices it covered return to what the older
 * rollouts say; with `deviceId` only that device returns to the version it
 * would run without its current rollout.
 */
export function rollback(
    store: FleetStore,
    opts: { id?: number; deviceId?: string } = {},
    now = Date.now()
): Promise<{ rollout: Rollout; to?: string }> {
    return store.atomically(async tx => {
        if (opts.deviceId) {
            const cur = await desiredNow(tx, opts.deviceId)
            if (!cur) throw new RangeError(`no rollout covers ${opts.deviceId}`)
            const prev = await desiredNow(tx, opts.deviceId, {
                exclude: cur.rolloutId,
            })
            if (!prev)
                throw new RangeError(
                    `${opts.deviceId}: no earlier version to return to`
                )
            const rollout = await tx.addRollout({
                version: prev.version,
                scope: { kind: "device", value: opts.deviceId },
                status: "active",
                createdAt: now,
                updatedAt: now,
                reason: `rollback from ${cur.version}`,
            })
            return { rollout, to: prev.version }
        }
        const r = await pick(tx, opts.id)
        const rollout = await tx.updateRollout(r.id, {
            status: "rolled-back",
            reason: "rolled back",
            updatedAt: now,
        })
        return { rollout }
    })
}
