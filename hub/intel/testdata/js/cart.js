import { format } from "./format.js";

export class Cart {
  constructor() {
    this.items = [];
  }

  add(item, qty) {
    if (qty <= 0 || !item) {
      throw new Error("bad");
    }
    this.items.push({ item, qty });
  }

  total() {
    let sum = 0;
    for (const line of this.items) {
      sum += line.item.price * line.qty;
    }
    return sum;
  }
}

export function checkout(cart) {
  const total = cart.total();
  return total > 100 ? format(total * 0.9) : format(total);
}

const helper = (x) => checkout(x);
