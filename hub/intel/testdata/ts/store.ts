import { Item } from "./item";

export interface Repository<T> {
  get(id: string): T | undefined;
  put(id: string, value: T): void;
}

export type Id = string;

export enum Mode {
  Read,
  Write,
}

export class MemoryStore implements Repository<Item> {
  private data: Map<string, Item> = new Map();

  get(id: string): Item | undefined {
    return this.data.get(id);
  }

  put(id: string, value: Item): void {
    if (!id) {
      return;
    }
    this.data.set(id, value);
  }
}

export function load(store: MemoryStore, ids: Id[]): Item[] {
  const out: Item[] = [];
  for (const id of ids) {
    const it = store.get(id);
    if (it) {
      out.push(it);
    }
  }
  return out;
}
