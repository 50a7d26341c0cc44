/**
 * Node's crypto as the oracle for the firmware's hashing: random and boundary
 * inputs, hashed by the real bytecode in the DeviceScript VM in one run, and
 * every digest compared with Node's.
 *
 * The random bytes are not carried in the bytecode (the VM refuses an image
 * much over ~100 KB, and each image costs a compile): both sides expand one
 * random seed with SHA-256 in counter mode (`expand`), so the test sends the
 * seed and the lengths. Strings go as literals, to test UTF-8.
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
} from "../../host/lib/devs.ts"

/** Bytes expanded from the seed (lengths), or UTF-8 text given as is. */
type Case =
    | { keyLength: number; messageLength: number }
    | { keyText: string; messageText: string }

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
        out.push({ keyLength: 16, messageLength: n })
    for (const n of KEY_LENGTHS) out.push({ keyLength: n, messageLength: 77 })
    for (const t of UTF8_TEXTS) out.push({ keyText: "clé✓", messageText: t })
    for (let i = 0; i < RANDOM_PAIRS; ++i)
        out.push({
            keyLength: randomInt(0, 150),
            messageLength: randomLength(),
        })
    return out
}

/**
 * `length` bytes of SHA-256(seed ‖ `${label}:${n}`) for n = 0, 1, …: the
 * firmware program computes the same bytes with the runtime's SHA-256.
 */
function expand(seed: Buffer, label: string, length: number): Buffer {
    const blocks: Buffer[] = []
    for (let n = 0; n * 32 < length; ++n)
        blocks.push(
            createHash("sha256").update(seed).update(`${label}:${n}`).digest()
        )
    return Buffer.concat(blocks).subarray(0, length)
}

/** The inputs of case `i`, as Node hashes them. */
function inputs(seed: Buffer, c: Case, i: number) {
    if ("keyText" in c)
        return {
            key: Buffer.from(c.keyText),
            message: Buffer.from(c.messageText),
        }
    return {
        key: expand(seed, `${i}k`, c.keyLength),
        message: expand(seed, `${i}m`, c.messageLength),
    }
}

function program(seed: Buffer, all: Case[]) {
    const rows = all.map(c =>
        "keyText" in c
            ? `    [${JSON.stringify(c.keyText)}, ${JSON.stringify(c.messageText)}],`
            : `    [${c.keyLength}, ${c.messageLength}],`
    )
    return `import { describe, test } from "@devicescript/test"
import { digest } from "@devicescript/crypto"
import { hmac, md5, sha1, toHex } from "../../src/crypto"

const SEED = hex\`${seed.toString("hex")}\`
const cases: any[][] = [
${rows.join("\n")}
]

function expand(label: string, length: number): Buffer {
    const out = Buffer.alloc(length)
    for (let n = 0; n * 32 < length; ++n) {
        const block = digest("sha256", SEED, label + ":" + n)
        out.blitAt(n * 32, block, 0, Math.min(32, length - n * 32))
    }
    return out
}

describe("oracle", () => {
    test("digests", async () => {
        for (let i = 0; i < cases.length; ++i) {
            let [key, message] = cases[i]
            if (typeof key === "number") {
                key = expand(i + "k", key)
                message = expand(i + "m", message)
            }
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

function expected(key: Buffer, message: Buffer) {
    const hash = (algo: string) =>
        createHash(algo).update(message).digest("hex")
    const mac = (algo: string) =>
        createHmac(algo, key).update(message).digest("hex")
    return [
        hash("md5"),
        hash("sha1"),
        mac("md5"),
        mac("sha1"),
        mac("sha256"),
    ].join(" ")
}

/** Runs the cases in the VM and returns its result lines by case index. */
async function digestsInVm(
    seed: Buffer,
    all: Case[]
): Promise<Map<number, string>> {
    const dir = join(projectRoot, ".devicescript", "oracle")
    mkdirSync(dir, { recursive: true })
    const file = join(dir, `oracle-${process.pid}.ts`)
    writeFileSync(file, program(seed, all))
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
    const seed = randomBytes(16)
    const all = cases()
    const got = await digestsInVm(seed, all)
    assert.equal(got.size, all.length, "one result line per case")
    let bytes = 0
    all.forEach((c, i) => {
        const { key, message } = inputs(seed, c, i)
        bytes += message.length
        assert.equal(
            got.get(i),
            expected(key, message),
            `case ${i} of seed ${seed.toString("hex")}: key ${key.length}` +
                ` bytes, message ${message.length} bytes` +
                ` (md5 sha1 hmac-md5 hmac-sha1 hmac-sha256)`
        )
    })
    assert.ok(bytes > 100_000, `${bytes} bytes of messages hashed`)
})
