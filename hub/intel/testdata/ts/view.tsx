import { MemoryStore, load } from "./store";

interface Props {
  store: MemoryStore;
}

export function List(props: Props) {
  const items = load(props.store, ["a"]);
  return <ul>{items.map((i) => <li>{i.name}</li>)}</ul>;
}
