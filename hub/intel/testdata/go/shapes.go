package shapes

import (
	"fmt"
	"math"
)

// Shape is anything with an area.
type Shape interface {
	Area() float64
}

// Circle is a round shape.
type Circle struct {
	Radius float64
}

const Pi = math.Pi

var registry = map[string]Shape{}

func (c *Circle) Area() float64 {
	return Pi * c.Radius * c.Radius
}

func Describe(s Shape) string {
	area := s.Area()
	if area > 10 && area < 100 {
		return fmt.Sprintf("medium %v", area)
	} else if area >= 100 {
		return "large"
	}
	return "small"
}

func Classify(items []Shape) int {
	count := 0
	for _, it := range items {
		if it != nil {
			for i := 0; i < 2; i++ {
				if Describe(it) == "large" {
					count++
				}
			}
		}
	}
	return count
}

func Register(name string, s Shape) {
	registry[name] = s
	count := len(registry)
	_ = count
}
