// Small DOM helpers shared by the console's views.
import { visible } from "./visible.js"

/**
 * Creates an element: `h("td", { class: "x" }, "text", child)`. Text is
 * always set as text (never parsed as HTML), its control characters and
 * bidirectional overrides shown as escapes (`\u202E`).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node|string|number|null|undefined)} children
 */
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue
        if (k.startsWith("on")) el.addEventListener(k.slice(2), v)
        else el.setAttribute(k, v === true ? "" : String(v))
    }
    for (const c of children)
        if (c !== null && c !== undefined)
            el.append(c instanceof Node ? c : visible(c))
    return el
}

/** "12 s ago", "3 min ago", "never". @param {number} t epoch ms */
export function ago(t) {
    if (!t) return "never"
    const s = Math.max(0, Math.round((Date.now() - t) / 1000))
    if (s < 60) return `${s} s ago`
    if (s < 3600) return `${Math.floor(s / 60)} min ago`
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`
    return new Date(t).toISOString().slice(0, 16).replace("T", " ")
}

/** Replaces the rows of a table body. @param {HTMLElement} tbody @param {Node[]} rows */
export function setRows(tbody, rows) {
    tbody.replaceChildren(...rows)
}

/** The element with this id (the page has it). @param {string} id */
export function byId(id) {
    return /** @type {HTMLElement} */ (document.getElementById(id))
}
