/**
 * The service's device connections: every session not ended yet, the ones
 * whose device has not proved its key (by connection key, for the
 * handshake deadline), and the one session each authenticated device has.
 * A device that connects again replaces its older session; a session that
 * ends marks its device disconnected.
 */
import { decoyReason } from "./upgrade.ts"
import type { HandshakeFailures } from "./handshake-failures.ts"
import type { PeerLog } from "./peer-log.ts"
import type { PendingConnections } from "./admission.ts"
import type { EventSink } from "../rollout/guard.ts"
import { CloseCode, type Session } from "./session.ts"
import type { FleetStore } from "../store/types.ts"

/** What the connection records update. */
export interface DeviceConnectionsDeps {
    store: FleetStore
    /** This instance's owner id (what `connectedTo` says while it holds a device). */
    owner: string
    event: EventSink
    /** Unauthenticated connections (a proved key takes one off). */
    pending: PendingConnections
    /** Failed handshakes, in memory. */
    failures: HandshakeFailures
    peerLog: PeerLog
    /** Queues a task of a device (its session's tasks run in the same queue). */
    serial(deviceId: string, task: () => Promise<void>): void
}

/** Sessions by state: live, unproven, and each device's own. */
export class DeviceConnections {
    private readonly byDevice = new Map<string, Session>()
    private readonly live = new Set<Session>()
    private readonly unproven = new Map<string, Session>()
    private readonly keyOf = new WeakMap<Session, string>()
    private allEnded?: () => void

    constructor(private readonly d: DeviceConnectionsDeps) {}

    /** A websocket opened on the connection `key`; its device is not proved yet. */
    opened(s: Session, key: string) {
        this.keyOf.set(s, key)
        this.unproven.set(key, s)
        this.live.add(s)
    }

    /** The session on connection `key` whose device has not proved its key. */
    unprovenOn(key: string): Session | undefined {
        return this.unproven.get(key)
    }

    /** The device proved its key: the session is now the device's. */
    authenticated(s: Session) {
        const key = this.keyOf.get(s)!
        this.unproven.delete(key)
        this.d.pending.authenticated(key)
        this.byDevice.get(s.device.id)?.close(CloseCode.Policy, "replaced")
        this.byDevice.set(s.device.id, s)
    }

    /** The peer failed the handshake: counted in memory, nothing written. */
    handshakeFailed(s: Session, reason: string) {
        // an unknown id is not counted: strangers would grow the table
        const decoy = decoyReason(s.device)
        if (!decoy) this.d.failures.record(s.device.id, s.peer, reason)
        this.d.peerLog.note(
            s.peer,
            `${s.device.id}: handshake failed (${decoy ?? reason})`
        )
    }

    /** The connection ended (authenticated or not). */
    ended(s: Session, reason: string) {
        const { store, event } = this.d
        this.unproven.delete(this.keyOf.get(s)!)
        this.live.delete(s)
        if (this.byDevice.get(s.device.id) === s) {
            this.byDevice.delete(s.device.id)
            // after the session's own queued records (a deploy it failed)
            this.d.serial(s.device.id, () =>
                store.atomically(
                    async tx => {
                        // the device may have connected to another instance since
                        const st = await tx.state(s.device.id)
                        if (!st.connectedTo || st.connectedTo === this.d.owner)
                            await tx.updateState(s.device.id, {
                                connected: false,
                                connectedTo: "",
                            })
                        // a check-in's end is routine: recorded only when
                        // the service closed it for a cause (idle, policy,
                        // error); the state says connected and last seen
                        if (
                            s.closedWith !== undefined &&
                            s.closedWith !== CloseCode.Normal
                        )
                            await event(tx, s.device.id, "disconnected", reason)
                    },
                    { device: s.device.id }
                )
            )
        }
        if (this.live.size === 0) this.allEnded?.()
    }

    /** Ids of devices connected now. */
    connectedIds(): string[] {
        return [...this.byDevice.keys()]
    }

    /** Asks every idle device session to check its assignment again. */
    recheckAll() {
        for (const s of this.byDevice.values()) s.recheck()
    }

    /** Closes every session with `code` and resolves when all have ended. */
    closeAll(code: number, reason: string): Promise<void> {
        const ended = new Promise<void>(r => {
            this.allEnded = r
            if (this.live.size === 0) r()
        })
        for (const s of this.live) s.close(code, reason)
        return ended
    }
}
