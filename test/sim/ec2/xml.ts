/** A tiny XML writer for EC2 Query API responses (`http://ec2.amazonaws.com/doc/2016-11-15/`). */

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** A node: text, a nested element list, or nothing (the element is left out). */
export type XmlValue = string | number | boolean | XmlNode[] | undefined;

export interface XmlNode {
  readonly name: string;
  readonly value: XmlValue;
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** `el('routeTableId', 'rtb-…')`; a value of `undefined` drops the element (EC2 omits absent fields). */
export function el(name: string, value: XmlValue): XmlNode {
  return { name, value };
}

/** An EC2 list: `<name><item>…</item>…</name>`; an empty list is the self-closed `<name/>`, as EC2 sends. */
export function set(name: string, items: readonly XmlNode[][]): XmlNode {
  return el(
    name,
    items.map((children) => el('item', children)),
  );
}

export function render(node: XmlNode, indent = ''): string {
  const { name, value } = node;
  if (value === undefined) return '';
  if (Array.isArray(value)) {
    const children = value.map((child) => render(child, `${indent}    `)).filter((s) => s !== '');
    if (children.length === 0) return `${indent}<${name}/>\n`;
    return `${indent}<${name}>\n${children.join('')}${indent}</${name}>\n`;
  }
  return `${indent}<${name}>${escapeXml(String(value))}</${name}>\n`;
}

/** A successful response: `<{Action}Response xmlns="…"><requestId>…</requestId>…</{Action}Response>`. */
export function successDocument(action: string, requestId: string, children: readonly XmlNode[]): string {
  const body = [el('requestId', requestId), ...children].map((child) => render(child, '    ')).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}">\n${body}</${action}Response>\n`;
}

/** EC2's error document; it is always sent with a non-2xx status (a 200 with Errors would parse as success). */
export function errorDocument(code: string, message: string, requestId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors>` +
    `<RequestID>${escapeXml(requestId)}</RequestID></Response>`
  );
}
