// S3 XML documents written element by element, for the listing pages (ops/list.ts, and
// ListMultipartUploads and ListParts: ops/multipart-list.ts, ops/multipart.ts), DeleteResult
// (ops/delete-objects.ts, a slice of entries to a turn of the event loop) and, through writeXml,
// the other answers that can be large (a lifecycle configuration, ListBuckets). A page of
// 1,000 entries built as objects and handed to fast-xml-parser's builder (ops/xml.ts toXml) cost
// ~5 ms (ListObjectsV2) to ~15 ms (ListObjectVersions) of the event loop, most of it the builder's
// per-element bookkeeping and five regular-expression replaces on every value; written here
// directly, the same bytes cost a fraction of that. The output is toXml's, byte for byte (the
// differential tests list-xml, write-xml, list-parts-xml and delete-result-xml hold it to that on random entries): the same declaration,
// `xmlns`, `<Tag></Tag>` for empty values, and text escaped as escapeXmlText escapes it.

import { escapeXmlText, S3_NS, type XmlObject, type XmlValue } from './xml.js';

/** Characters escapeXmlText rewrites: XML's five, and the C0 controls but TAB and LF. */
const NEEDS_ESCAPE = /[&<>"'\x00-\x08\x0B-\x1F]/;

/** A value as element text, as toXml writes it (most keys, dates and ETag-free values need nothing). */
export function xmlEscape(s: string): string {
  return NEEDS_ESCAPE.test(s) ? escapeXmlText(s) : s;
}

export class XmlWriter {
  private out: string;

  /** `fragment`: elements only, no declaration nor root (the entries of a listing page, written before its head: take, endWith). */
  constructor(
    private readonly root: string,
    fragment = false,
  ) {
    this.out = fragment ? '' : `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NS}">`;
  }

  /** `<tag>text</tag>` (none for undefined); numbers and booleans as String gives them. */
  text(tag: string, v: string | number | boolean | undefined): this {
    if (v !== undefined) this.out += `<${tag}>${typeof v === 'string' ? xmlEscape(v) : String(v)}</${tag}>`;
    return this;
  }

  /** Markup written as it is: the caller escapes what it holds. */
  raw(markup: string): this {
    this.out += markup;
    return this;
  }

  open(tag: string): this {
    this.out += `<${tag}>`;
    return this;
  }

  close(tag: string): this {
    this.out += `</${tag}>`;
    return this;
  }

  /**
   * An element of toXml's object form: text, an object of child elements in its key order (an
   * element without children `<tag></tag>`), or a list, the element repeated once for each of its
   * items (none for an empty list). Null, lists of lists and attributes, which toXml's two builders
   * write differently (or as no S3 document holds them), are refused rather than written in one of
   * their ways.
   */
  element(tag: string, v: XmlValue): this {
    if (v === undefined) return this;
    if (typeof v !== 'object') return this.text(tag, v);
    if (Array.isArray(v)) {
      for (const x of v) {
        if (Array.isArray(x)) throw new TypeError(`XmlWriter: no list of lists in ${tag}`);
        this.element(tag, x);
      }
      return this;
    }
    if (v === null) throw new TypeError(`XmlWriter: no null element ${tag}`);
    return this.open(tag).elements(v, tag).close(tag);
  }

  /** The children of an object of toXml's object form, in its key order. */
  elements(body: XmlObject, tag = this.root): this {
    for (const k in body) {
      if (k.startsWith('@_') || k === '#text') throw new TypeError(`XmlWriter: no attribute or text node ${k} in ${tag}`);
      this.element(k, body[k]);
    }
    return this;
  }

  /** The document, its root closed. */
  end(): string {
    return `${this.out}</${this.root}>`;
  }

  /**
   * What was written since the last take, as UTF-8, and forgotten. A listing takes its entries a
   * slice at a time: a page's text held as one string until it was sent was a rope of some 20,000
   * strings (and the records it was written from) that every scavenge between two slices copied.
   */
  take(): Buffer {
    const b = Buffer.from(this.out);
    this.out = '';
    return b;
  }

  /** The document with `parts` (what a fragment writer's take gave) after what this one wrote, its root closed: end's bytes. */
  endWith(parts: readonly Buffer[]): Buffer {
    return Buffer.concat([Buffer.from(this.out), ...parts, Buffer.from(`</${this.root}>`)]);
  }
}

/**
 * toXml(root, body), byte for byte (for the shapes XmlWriter.element takes), without
 * fast-xml-parser's builder: for the answers that can be large (a lifecycle configuration of 1,000
 * rules, 1,000 uploads in progress, 10,000 buckets, a ListParts page of 1,000 parts), whose build held the event loop ~10-45 ms.
 */
export function writeXml(root: string, body: XmlObject): string {
  return new XmlWriter(root).elements(body).end();
}
