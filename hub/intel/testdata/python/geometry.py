import math
from collections import OrderedDict

SCALE = 2


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm(self):
        return math.sqrt(self.x * self.x + self.y * self.y)


def distance(a, b):
    dx = a.x - b.x
    dy = a.y - b.y
    return math.sqrt(dx * dx + dy * dy) * SCALE


def classify(points):
    total = 0
    for p in points:
        if p.norm() > 10 and p.x > 0:
            total += 1
        elif p.norm() > 5:
            while total > 100:
                total -= 1
    return total


def main():
    a = Point(1, 2)
    print(distance(a, Point(3, 4)), classify([a]))
