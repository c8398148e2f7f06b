// A stricter look at structuredContent than the SDK's validator: which properties of the payload
// does the published outputSchema not declare at all? JSON Schema allows them (no
// `additionalProperties: false`), so validators accept them, but a schema that does not describe
// the payload misleads every client that reads it.

/** Paths of payload properties that the schema does not declare, e.g. `rows[0].obs_date`. */
export function undeclaredProperties(schema, value) {
    const found = [];
    walk(schema, value, '', schema, found, 0);
    return found;
}

function resolve(schema, root) {
    let current = schema;
    for (let i = 0; i < 20 && current && typeof current.$ref === 'string'; i++) {
        const ref = current.$ref;
        if (!ref.startsWith('#/')) return current;
        current = ref
            .slice(2)
            .split('/')
            .reduce((node, key) => (node ? node[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), root);
    }
    return current;
}

function typeOf(value) {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'array';
    if (Number.isInteger(value)) return 'integer';
    return typeof value;
}

function matchesType(schema, value) {
    const t = schema.type;
    if (t === undefined) return schema.const === undefined || schema.const === value;
    const types = Array.isArray(t) ? t : [t];
    const actual = typeOf(value);
    return types.includes(actual) || (actual === 'integer' && types.includes('number'));
}

function pickBranch(schema, value, root) {
    const branches = schema.oneOf ?? schema.anyOf;
    if (!branches) return schema;
    const mapping = schema.discriminator?.mapping;
    const prop = schema.discriminator?.propertyName;
    if (mapping && prop && value && typeof value === 'object' && mapping[value[prop]]) {
        return resolve({ $ref: mapping[value[prop]] }, root);
    }
    for (const branch of branches) {
        const resolved = resolve(branch, root);
        if (!resolved) continue;
        if (resolved.oneOf || resolved.anyOf) return pickBranch(resolved, value, root);
        if (!matchesType(resolved, value)) continue;
        if (resolved.properties && value && typeof value === 'object' && !Array.isArray(value)) {
            const constProps = Object.entries(resolved.properties).filter(([, s]) => s && s.const !== undefined);
            if (constProps.some(([k, s]) => value[k] !== undefined && value[k] !== s.const)) continue;
        }
        return resolved;
    }
    return null;
}

function walk(schema, value, path, root, found, depth) {
    if (depth > 50 || schema === undefined || schema === true || schema === null) return;
    let node = resolve(schema, root);
    if (node && (node.oneOf || node.anyOf)) node = pickBranch(node, value, root);
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(value)) {
        if (node.items && typeof node.items === 'object') {
            value.forEach((item, i) => walk(node.items, item, `${path}[${i}]`, root, found, depth + 1));
        }
        return;
    }
    if (value === null || typeof value !== 'object') return;
    const props = node.properties ?? {};
    for (const [key, child] of Object.entries(value)) {
        const where = path ? `${path}.${key}` : key;
        if (key in props) {
            walk(props[key], child, where, root, found, depth + 1);
        } else if (node.additionalProperties !== undefined && node.additionalProperties !== false) {
            walk(node.additionalProperties, child, where, root, found, depth + 1);
        } else if (node.properties !== undefined && node.additionalProperties === undefined) {
            found.push(where);
        }
    }
}
