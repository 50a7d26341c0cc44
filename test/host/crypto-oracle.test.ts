/**
 * Node's crypto as the oracle for the firmware's hashing: random and boundary
 * inputs are generated here, hashed by the real bytecode in the DeviceScript
 * VM in one run, and every digest is compared with Node's.
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import { createHash, createHmac, randomBytes, randomInt } from "node:crypto"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import {
    devsRunTest,
    parseDevsSummary,
    projectRoot,
    vmLines,
} from "../../host/devs.ts"

interface Case {
    key: Buffer
    message: Buffer
    /** Pass the inputs to the firmware as strings (UTF-8) instead of bytes. */
    asString: boolean
}

const BOUNDARY_LENGTHS = [
    0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 191, 192, 1000, 4113,
]
const KEY_LENGTHS = [0, 1, 20, 63, 64, 65, 100, 200]
const UTF8_TEXTS = [
    "héllo wörld",
    "设备上报温度",
    "🚀 emoji and \u0000 NUL",
    "ü".repeat(40),
]
const RANDOM_PAIRS = 200

function randomLength() {
    // mostly auth-sized inputs, a third of them several KB
    return randomInt(3) === 0 ? randomInt(300, 6000) : randomInt(0, 300)
}

function cases(): Case[] {
    const out: Case[] = []
    for (const n of BOUNDARY_LENGTHS)
        out.push({
            key: randomBytes(16),
            message: randomBytes(n),
            asString: false,
        })
    for (const n of KEY_LENGTHS)
        out.push({
            key: randomBytes(n),
            message: randomBytes(77),
            asString: false,
        })
    for (const t of UTF8_TEXTS)
        out.push({
            key: Buffer.from("clé✓"),
            message: Buffer.from(t),
            asString: true,
        })
    for (let i = 0; i < RANDOM_PAIRS; ++i)
        out.push({
            key: randomBytes(randomInt(0, 150)),
            message: randomBytes(randomLength()),
            asString: false,
        })
    return out
}

function literal(buf: Buffer, asString: boolean) {
    return asString
        ? JSON.stringify(buf.toString("utf8"))
        : `hex\`${buf.toString("hex")}\``
}

function program(all: Case[]) {
    const rows = all.map(
        c =>
            `    [${literal(c.key, c.asString)}, ${literal(c.message, c.asString)}],`
    )
    return `import { describe, test } from "@devicescript/test"
import { hmac, md5, sha1, toHex } from "../../src/crypto"

const cases: any[][] = [
${rows.join("\n")}
]

describe("oracle", () => {
    test("digests", async () => {
        for (let i = 0; i < cases.length; ++i) {
            const [key, message] = cases[i]
            const line = [
                toHex(await md5(message)),
                toHex(await sha1(message)),
                toHex(await hmac("md5", key, message)),
                toHex(await hmac("sha1", key, message)),
                toHex(await hmac("sha256", key, message)),
            ].join(" ")
            console.log(\`ORACLE \${i} \${line}\`)
        }
    })
})
`
}

function expected(c: Case) {
    const hash = (algo: string) =>
        createHash(algo).update(c.message).digest("hex")
    const mac = (algo: string) =>
        createHmac(algo, c.key).update(c.message).digest("hex")
    return [
        hash("md5"),
        hash("sha1"),
        mac("md5"),
        mac("sha1"),
        mac("sha256"),
    ].join(" ")
}

/**
 * The inputs travel inside the bytecode as literals, and the VM refuses an
 * image much over ~100 KB, so the cases are split into runs of bounded size.
 */
const BYTES_PER_RUN = 40_000

function batches(all: Case[]): Case[][] {
    const out: Case[][] = [[]]
    let size = 0
    for (const c of all) {
        const n = c.key.length + c.message.length
        if (size + n > BYTES_PER_RUN && out[out.length - 1].length) {
            out.push([])
            size = 0
        }
        out[out.length - 1].push(c)
        size += n
    }
    return out
}

/** Runs one batch in the VM and returns its result lines by case index. */
async function digestsInVm(batch: Case[]): Promise<Map<number, string>> {
    const dir = join(projectRoot, ".devicescript", "oracle")
    mkdirSync(dir, { recursive: true })
    const file = join(dir, `oracle-${process.pid}.ts`)
    writeFileSync(file, program(batch))
    try {
        const { code, output } = await devsRunTest(relative(projectRoot, file))
        assert.equal(code, 0, `the VM run failed:\n${output.slice(-3000)}`)
        assert.deepEqual(parseDevsSummary(output), {
            total: 1,
            pass: 1,
            error: 0,
        })
        const got = new Map<number, string>()
        for (const line of vmLines(output)) {
            const m = /^ORACLE (\d+) (.*)$/.exec(line)
            if (m) got.set(+m[1], m[2])
        }
        return got
    } finally {
        rmSync(file, { force: true })
    }
}

test("firmware MD5, SHA-1 and HMACs agree with Node's crypto", async () => {
    const all = cases()
    let checked = 0
    for (const batch of batches(all)) {
        const got = await digestsInVm(batch)
        assert.equal(got.size, batch.length, "one result line per case")
        batch.forEach((c, i) => {
            assert.equal(
                got.get(i),
                expected(c),
                `key ${c.key.length} bytes, message ${c.message.length} bytes` +
                    ` (md5 sha1 hmac-md5 hmac-sha1 hmac-sha256)`
            )
        })
        checked += batch.length
    }
    assert.equal(checked, all.length)
    assert.ok(checked >= RANDOM_PAIRS)
})
