module github.com/evercast/evercast

go 1.26
