/**
 * Writes to one socket made in the same turn of the event loop leave in
 * one system call: the upgrade's answer with the hello, the key's proof
 * with the hash request, and the deploy window's chunks (session.ts), sent
 * as the device's acknowledgements arrive together. On loopback a socket
 * write was the largest single cost of a deploy and of a check-in (see
 * docs/performance.md).
 */
import type { Duplex } from "node:stream"

/** Holds a socket's writes until the current turn's callbacks and microtasks have run. */
export class WriteBatch {
    private holding = false

    constructor(private readonly socket: Duplex) {}

    /** Writes from now to the end of this turn go out together. */
    hold(): void {
        if (this.holding || this.socket.destroyed) return
        this.holding = true
        this.socket.cork()
        // ticks run after the microtasks queued meanwhile: every answer of
        // one socket read is handled before the writes are released
        process.nextTick(() => {
            this.holding = false
            this.socket.uncork()
        })
    }
}
