// Back-pressure on a device's websocket (back-pressure.ts), on a real
// websocket pair over loopback: reading stops while the peer does not
// read its answers, and starts again once it does; the token bucket meters
// unasked messages; answers to the service's requests are not metered.
import { test } from "node:test"
import assert from "node:assert/strict"
import { once } from "node:events"
import { WebSocketServer, type WebSocket as ServerSocket } from "ws"
import { InboundFlow, TokenBucket } from "../../host/fleet/device/back-pressure.ts"
import { openWebSocket } from "../../host/lib/websocket-client.ts"

async function until(cond: () => boolean, what: string, ms = 30_000) {
    const end = Date.now() + ms
    while (!cond()) {
        if (Date.now() > end) assert.fail(`timed out waiting for ${what}`)
        await new Promise(r => setTimeout(r, 20))
    }
}

test("a token bucket gives its burst at once, then its rate", () => {
    let t = 0
    const b = new TokenBucket(10, 5, () => t)
    for (let i = 0; i < 5; i++) assert.equal(b.take(), true)
    assert.equal(b.take(), false)
    t += 100 // one token a tenth of a second
    assert.equal(b.take(), true)
    assert.equal(b.take(), false)
    t += 60_000 // never more than the burst
    for (let i = 0; i < 5; i++) assert.equal(b.take(), true)
    assert.equal(b.take(), false)
})

test("answers the service asked for are not metered; unasked messages are", async () => {
    const { server, client, peer } = await pair()
    try {
        const flow = new InboundFlow(peer, { perSecond: 1, burst: 2 })
        for (let i = 0; i < 1000; i++) {
            flow.asked()
            assert.equal(flow.admit(), true)
        }
        assert.equal(flow.admit(), true)
        assert.equal(flow.admit(), true)
        assert.equal(flow.admit(), false)
    } finally {
        client.terminate()
        server.close()
    }
})

test("reading stops while the peer leaves its answers unread, and starts again when it reads; what waits stays bounded", async () => {
    const { server, client, peer } = await pair()
    try {
        const max = 16 * 1024
        const flow = new InboundFlow(peer, { maxBufferedBytes: max })
        client.pause() // the device reads nothing
        const answer = Buffer.alloc(200)
        let sent = 0
        // the kernel's buffers take the first megabytes; then ws buffers
        while (!flow.paused && sent < 200_000) {
            peer.send(answer)
            flow.sent()
            sent++
            if (sent % 1000 === 0) await new Promise(r => setImmediate(r))
        }
        assert.equal(flow.paused, true, `not paused after ${sent} answers`)
        assert.equal(peer.isPaused, true)
        assert.ok(peer.bufferedAmount <= max + answer.length + 16)
        client.resume()
        await until(() => !flow.paused, "reading to start again")
        assert.equal(peer.isPaused, false)
    } finally {
        client.terminate()
        server.close()
    }
})

test("reading stops while too many messages wait for their turn", async () => {
    const { server, client, peer } = await pair()
    try {
        const flow = new InboundFlow(peer, { maxQueued: 8 })
        for (let i = 0; i < 8; i++) flow.enqueued()
        assert.equal(flow.paused, true)
        assert.equal(peer.isPaused, true)
        for (let i = 0; i < 4; i++) flow.handled()
        assert.equal(flow.paused, false)
        assert.equal(peer.isPaused, false)
    } finally {
        client.terminate()
        server.close()
    }
})

/** A websocket server on loopback, a client, and the server's side of it. */
async function pair() {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 })
    await once(server, "listening")
    const port = (server.address() as { port: number }).port
    const peerP = once(server, "connection") as Promise<[ServerSocket]>
    const client = await openWebSocket(`ws://127.0.0.1:${port}/`)
    const [peer] = await peerP
    return { server, client, peer }
}
