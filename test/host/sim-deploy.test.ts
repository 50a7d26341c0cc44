/**
 * The simulator deploy (`host/sim/deploy.ts`) against a fake DeviceScript
 * device behind a Jacdac TCP server: what it writes, in which order, and
 * that a lost answer is asked for again.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { createServer, type AddressInfo } from "node:net"
import { deployToSim } from "../../host/sim/deploy.ts"
import type { Packet } from "../../host/jacdac/frame.ts"
import {
    SRV_DEVICE_SCRIPT_MANAGER,
    SRV_SETTINGS,
} from "../../host/jacdac/services.ts"
import {
    serveFakeJacdacBus,
    type FakeJacdacBus,
    type Reply,
} from "./fake-jacdac-bus.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"

/** How long a wait may take (generous: the machine is shared). */
const WAIT_MS = 30_000

const DEVICE_ID = "1989f4ee306ad401"
const MANAGER = 2
const SETTINGS = 3

/** A fake device: answers like the runtime, records what it was sent. */
interface FakeDevice {
    /** SHA-256 of the program it holds */
    sha: Buffer
    /** commands to drop (not answer) once each, by command code */
    dropOnce: Set<number>
    /** commands in order, as `si:0xcmd` */
    log: string[]
    program: Buffer
    settings: Map<string, string>
    autostart: number
}

let bus: FakeJacdacBus
let port: number
let device: FakeDevice

function freshDevice(sha = Buffer.alloc(32)): FakeDevice {
    return {
        sha,
        dropOnce: new Set(),
        log: [],
        program: Buffer.alloc(0),
        settings: new Map(),
        autostart: 1,
    }
}

/** What the runtime does with one command packet. */
function onCommand(p: Packet, reply: Reply) {
    device.log.push(`${p.serviceIndex}:0x${p.command.toString(16)}`)
    if (p.serviceIndex === MANAGER && p.command === 0x1182)
        reply(MANAGER, 0x1182, device.sha)
    else if (p.serviceIndex === MANAGER && p.command === 0x2081)
        device.autostart = p.payload[0]
    else if (p.serviceIndex === MANAGER && p.command === 0x1081)
        reply(MANAGER, 0x1081, Buffer.from([1]))
    else if (p.serviceIndex === MANAGER && p.command === 0x80) {
        device.program = Buffer.alloc(0)
        reply(MANAGER, 0x80, Buffer.from([0xad, 0x01]))
    } else if (p.serviceIndex === 0x3e && p.command >> 7 === 0x1ad)
        device.program = Buffer.concat([device.program, p.payload])
    else if (p.serviceIndex === SETTINGS && p.command === 0x81) {
        const nul = p.payload.indexOf(0)
        device.settings.set(
            p.payload.subarray(0, nul).toString(),
            p.payload.subarray(nul + 1).toString()
        )
    }
}

before(async () => {
    bus = await serveFakeJacdacBus({
        deviceId: DEVICE_ID,
        // some other service at index 1
        services: [0x12345678, SRV_DEVICE_SCRIPT_MANAGER, SRV_SETTINGS],
        announceFlags: 0x101,
        announceMs: 50,
        accepts: p => !device.dropOnce.delete(p.command),
        onCommand,
    })
    port = bus.port
})
after(() => bus.close())

const bytecode = Buffer.alloc(1000, 7)
for (let i = 0; i < bytecode.length; i++) bytecode[i] = i & 0xff

test("writes the program through the pipe and each setting as JSON text, stopped until then", async () => {
    device = freshDevice()
    await deployToSim({
        bytecode,
        settings: { DEVICE_NAME: "dev#1", PORT: "443" },
        timeoutMs: 5000,
        port,
    })
    assert.deepEqual(device.program, bytecode)
    assert.deepEqual(Object.fromEntries(device.settings), {
        DEVICE_NAME: '"dev#1"',
        PORT: '"443"',
    })
    // the start is sent, not waited for
    await waitUntil(
        () => device.log.at(-1) === "2:0x2080",
        WAIT_MS,
        "the device to log the deploy start",
        { pollMs: 20 }
    )
    const log = device.log
    const at = (c: string) => log.indexOf(c)
    assert.ok(at("2:0x2081") < at("2:0x80"), "autostart off before the deploy")
    assert.ok(
        at("2:0x2080") < at("2:0x80"),
        "program stopped before the deploy"
    )
    assert.ok(
        at(`${SETTINGS}:0x81`) > at("2:0x80"),
        "settings after the program"
    )
    assert.equal(
        log.filter(c => c === "2:0x2081").length,
        2,
        "autostart restored"
    )
    assert.equal(device.autostart, 1)
})

test("autostart ends on even when an earlier attempt left it off", async () => {
    device = freshDevice()
    device.autostart = 0
    await deployToSim({ bytecode, settings: {}, timeoutMs: 5000, port })
    assert.equal(device.autostart, 1)
})

test("the same program is not written again; settings still are", async () => {
    device = freshDevice(createHash("sha256").update(bytecode).digest())
    await deployToSim({ bytecode, settings: { K: "v" }, timeoutMs: 5000, port })
    assert.ok(!device.log.includes("2:0x80"))
    assert.equal(device.settings.get("K"), '"v"')
})

test("an unanswered DeployBytecode or unacknowledged packet is sent again", async () => {
    device = freshDevice()
    device.dropOnce.add(0x80)
    device.dropOnce.add(0x2080)
    await deployToSim({ bytecode, settings: {}, timeoutMs: 20_000, port })
    assert.deepEqual(device.program, bytecode)
})

test("no device on the bus: a clear error", async () => {
    const empty = createServer(s => s.on("error", () => {}))
    await new Promise<void>(r => empty.listen(0, "127.0.0.1", r))
    try {
        await assert.rejects(
            deployToSim({
                bytecode,
                settings: {},
                timeoutMs: 300,
                port: (empty.address() as AddressInfo).port,
            }),
            /no DeviceScript device announced/
        )
    } finally {
        await new Promise<void>(r => empty.close(() => r()))
    }
})
