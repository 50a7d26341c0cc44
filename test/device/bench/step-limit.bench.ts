/**
 * How many blocks one block function call can process after a yield before
 * the VM's step limit (InfiniteLoop) kills the program: after each yield it
 * runs n blocks, yields, and prints `STEP-LIMIT <algo> <n>`, for n = 1, 2,
 * ... The last line before the panic is the answer. The algorithm is the
 * setting STEP_PROBE ("md5" or "sha1"); run by `npm run bench`.
 */
import * as ds from "@devicescript/core"
import { readSetting } from "@devicescript/settings"
import { md5Blocks } from "../../../src/crypto/md5"
import { sha1Blocks } from "../../../src/crypto/sha1"

const MAX_BLOCKS = 64

const algo: string = await readSetting("STEP_PROBE", "sha1")
const blocks = algo === "md5" ? md5Blocks : sha1Blocks
const input = Buffer.alloc(64 * MAX_BLOCKS)
const state = Buffer.alloc(20)
for (let n = 1; n <= MAX_BLOCKS; ++n) {
    await ds.sleep(0)
    blocks(state, input, 0, 64 * n)
    await ds.sleep(0)
    console.log(`STEP-LIMIT ${algo} ${n}`)
}
console.log(`STEP-LIMIT ${algo} done`)
