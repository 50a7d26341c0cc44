/**
 * What one service instance of several that share a store holds: its
 * owner id, and the leases (see `FleetStore.lease`) that keep the others
 * out: `deploy:<deviceId>` while it deploys to a device, `health-check`
 * while it runs the fleet's health check, and `instance:<owner>` renewed
 * while it lives (so the others can tell a dead instance's records).
 * Leases expire: an instance that dies gives everything up after the TTL.
 * The instances' clocks must agree to well within the TTLs.
 */
import { randomBytes } from "node:crypto"
import type { FleetStore } from "../store/types.ts"

/** How long each lease lasts without renewal. */
export interface LeaseTimes {
    /** A deploy's lease, renewed at each step (default 60 s). */
    deployMs?: number
    /** The health check's lease, renewed at each check (default 10 s). */
    healthMs?: number
    /**
     * The instance's own lease, renewed at each health period (default
     * 10 s): a killed instance's connections and deploys are settled by
     * another (or its restart) this long after it stopped.
     */
    aliveMs?: number
}

/** A new owner id: `NAME-` (when given) and random hex, unique per process start. */
export function newInstanceId(name?: string): string {
    const rand = randomBytes(6).toString("hex")
    return name ? `${name}-${rand}` : rand
}

/** Name of the lease of a deploy to `deviceId`. */
export const deployLease = (deviceId: string) => `deploy:${deviceId}`
/** Name of the lease of the fleet's health check. */
export const HEALTH_LEASE = "health-check"
/** Name of the lease an instance holds while it lives. */
export const aliveLease = (owner: string) => `instance:${owner}`

/** The leases of one instance. */
export class InstanceLeases {
    readonly deployMs: number
    readonly healthMs: number
    readonly aliveMs: number
    /** Devices whose deploy lease this instance took and has not given up. */
    private readonly deploys = new Set<string>()

    constructor(
        private readonly store: FleetStore,
        /** This instance's owner id. */
        readonly owner: string,
        times: LeaseTimes,
        private readonly now: () => number
    ) {
        this.deployMs = times.deployMs ?? 60_000
        this.healthMs = times.healthMs ?? 10_000
        this.aliveMs = times.aliveMs ?? 10_000
    }

    /**
     * Takes or renews the deploy lease of `deviceId`; false while another
     * instance holds it. Through `tx` inside a transaction.
     */
    async deploy(
        deviceId: string,
        tx: FleetStore = this.store
    ): Promise<boolean> {
        const ok = await tx.lease(
            deployLease(deviceId),
            this.owner,
            this.deployMs,
            this.now()
        )
        if (ok) this.deploys.add(deviceId)
        else this.deploys.delete(deviceId)
        return ok
    }

    /** Gives the deploy lease of `deviceId` up (when this instance holds it). */
    async releaseDeploy(deviceId: string, tx: FleetStore = this.store) {
        await tx.releaseLease(deployLease(deviceId), this.owner)
        this.deploys.delete(deviceId)
    }

    /** Whether this instance took the deploy lease of `deviceId` and still has it. */
    holdsDeploy(deviceId: string): boolean {
        return this.deploys.has(deviceId)
    }

    /** Takes or renews the health check's lease; false while another instance holds it. */
    healthCheck(): Promise<boolean> {
        return this.store.lease(
            HEALTH_LEASE,
            this.owner,
            this.healthMs,
            this.now()
        )
    }

    /** Renews this instance's own lease (it lives). */
    async heartbeat(): Promise<void> {
        await this.store.lease(
            aliveLease(this.owner),
            this.owner,
            this.aliveMs,
            this.now()
        )
    }

    /**
     * Whether the instance `owner` lives (its own lease holds). Probes by
     * taking its lease, which succeeds only when it expired or was given
     * up, and gives the probe back at once.
     */
    async alive(owner: string, tx: FleetStore = this.store): Promise<boolean> {
        if (owner === this.owner) return true
        const name = aliveLease(owner)
        if (!(await tx.lease(name, this.owner, 1, this.now()))) return true
        await tx.releaseLease(name, this.owner)
        return false
    }

    /** Gives up the health check's and this instance's own lease (a clean stop). */
    async close(): Promise<void> {
        await this.store.releaseLease(HEALTH_LEASE, this.owner)
        await this.store.releaseLease(aliveLease(this.owner), this.owner)
    }
}
