// WriteBatch over a real loopback socket: the writes of one turn (and of
// the microtasks it queued) stay corked until the turn ends, then leave
// together, in order.
import { test } from "node:test"
import assert from "node:assert/strict"
import { createServer, connect, type Socket } from "node:net"
import { once } from "node:events"
import { WriteBatch } from "../../host/fleet/device/write-batch.ts"

test("writes held in one turn stay queued until it ends, then arrive whole and in order", async () => {
    const server = createServer()
    server.listen(0, "127.0.0.1")
    await once(server, "listening")
    const { port } = server.address() as { port: number }
    const accepted = once(server, "connection")
    const client = connect(port, "127.0.0.1")
    await once(client, "connect")
    const [peer] = (await accepted) as [Socket]
    const received: Buffer[] = []
    peer.on("data", d => received.push(d))
    try {
        const batch = new WriteBatch(client)
        batch.hold()
        batch.hold() // a second hold in the same turn is the same batch
        client.write("one ")
        await Promise.resolve() // a microtask of the same turn
        client.write("two ")
        assert.equal(client.writableCorked, 1)
        assert.equal(client.writableLength, 8, "nothing written yet")
        await new Promise(r => setImmediate(r))
        assert.equal(client.writableCorked, 0)
        client.end("three")
        await once(peer, "end")
        assert.equal(Buffer.concat(received).toString(), "one two three")
    } finally {
        client.destroy()
        peer.destroy()
        server.close()
    }
})
