package runtimes

import (
	"slices"
	"time"
)

// known is the Runtime enum of the Lambda API model (botocore's
// lambda/2015-03-31/service-2.json, aws-sdk-go-v2 service/lambda/types), in
// the model's order. TestKnownMatchesSDK keeps it equal to the SDK's copy.
var known = []string{
	"nodejs",
	"nodejs4.3",
	"nodejs6.10",
	"nodejs8.10",
	"nodejs10.x",
	"nodejs12.x",
	"nodejs14.x",
	"nodejs16.x",
	"nodejs18.x",
	"nodejs20.x",
	"nodejs22.x",
	"nodejs24.x",
	"java8",
	"java8.al2",
	"java11",
	"java17",
	"java21",
	"java25",
	"python2.7",
	"python3.6",
	"python3.7",
	"python3.8",
	"python3.9",
	"python3.10",
	"python3.11",
	"python3.12",
	"python3.13",
	"python3.14",
	"dotnetcore1.0",
	"dotnetcore2.0",
	"dotnetcore2.1",
	"dotnetcore3.1",
	"dotnet6",
	"dotnet8",
	"dotnet10",
	"nodejs4.3-edge",
	"go1.x",
	"ruby2.5",
	"ruby2.7",
	"ruby3.2",
	"ruby3.3",
	"ruby3.4",
	"ruby4.0",
	"provided",
	"provided.al2",
	"provided.al2023",
	"nodejs26.x",
	"python3.15",
	"java8.al2023",
	"java11.al2023",
	"java17.al2023",
}

// Known returns AWS's full Runtime enum, in the API model's order, for
// validating a Runtime parameter and for the enum list in AWS's
// "failed to satisfy constraint: Member must satisfy enum value set" message.
// The caller owns the returned slice.
func Known() []string {
	return slices.Clone(known)
}

// isKnown reports whether name is in AWS's Runtime enum.
func isKnown(name string) bool {
	return slices.Contains(known, name)
}

// lifecycle holds the two dates of AWS's runtime deprecation table that
// change what the API accepts: from createBlock AWS refuses to create
// functions with the runtime (and to switch a function to it); from
// updateBlock it also refuses to update functions that still use it.
type lifecycle struct {
	createBlock time.Time
	updateBlock time.Time
}

// pacific is the zone in which AWS's deprecation phases start ("at midnight
// Pacific time"). Every date in the table falls outside daylight saving time
// or is long past, so a fixed PST offset is exact enough and needs no tzdata.
var pacific = time.FixedZone("PST", -8*60*60)

func day(year int, month time.Month, d int) time.Time {
	return time.Date(year, month, d, 0, 0, 0, 0, pacific)
}

// lifecycles is AWS's "Deprecated runtimes" table (docs.aws.amazon.com/lambda/
// latest/dg/lambda-runtimes.html) as of June 2026. AWS has moved the pending
// block dates several times; the 2027 dates are the ones it published last.
// Runtimes that AWS has deprecated without announcing block dates (for
// example python3.9) are absent, so they stay accepted.
var lifecycles = map[string]lifecycle{
	"nodejs":         {day(2016, time.October, 31), day(2016, time.October, 31)},
	"nodejs4.3":      {day(2020, time.March, 5), day(2020, time.March, 5)},
	"nodejs4.3-edge": {day(2019, time.April, 30), day(2019, time.April, 30)},
	"nodejs6.10":     {day(2019, time.August, 12), day(2019, time.August, 12)},
	"nodejs8.10":     {day(2020, time.March, 6), day(2020, time.March, 6)},
	"nodejs10.x":     {day(2021, time.July, 30), day(2022, time.February, 14)},
	"nodejs12.x":     {day(2023, time.March, 31), day(2023, time.April, 30)},
	"nodejs14.x":     {day(2024, time.January, 9), day(2027, time.March, 3)},
	"nodejs16.x":     {day(2027, time.February, 1), day(2027, time.March, 3)},
	"nodejs18.x":     {day(2027, time.February, 1), day(2027, time.March, 3)},
	"nodejs20.x":     {day(2027, time.February, 1), day(2027, time.March, 3)},
	"python2.7":      {day(2021, time.July, 15), day(2022, time.May, 30)},
	"python3.6":      {day(2022, time.July, 18), day(2022, time.August, 29)},
	"python3.7":      {day(2024, time.January, 9), day(2027, time.March, 3)},
	"python3.8":      {day(2027, time.February, 1), day(2027, time.March, 3)},
	"ruby2.5":        {day(2021, time.July, 30), day(2022, time.March, 31)},
	"ruby2.7":        {day(2024, time.January, 9), day(2027, time.March, 3)},
	"java8":          {day(2024, time.February, 8), day(2027, time.March, 3)},
	"go1.x":          {day(2024, time.February, 8), day(2027, time.March, 3)},
	"provided":       {day(2024, time.February, 8), day(2027, time.March, 3)},
	"dotnetcore1.0":  {day(2019, time.July, 30), day(2019, time.July, 30)},
	"dotnetcore2.0":  {day(2019, time.May, 30), day(2019, time.May, 30)},
	"dotnetcore2.1":  {day(2022, time.January, 5), day(2022, time.April, 13)},
	"dotnetcore3.1":  {day(2023, time.April, 3), day(2023, time.May, 3)},
	"dotnet6":        {day(2027, time.February, 1), day(2027, time.March, 3)},
}

// Deprecated reports whether AWS no longer accepts the runtime for new
// functions: CreateFunction with it fails, and so does changing a function's
// Runtime to it, with "The runtime parameter of NAME is no longer supported
// for creating or updating AWS Lambda functions...". go1.x, python2.7 and
// nodejs12.x are examples. The answer follows AWS's published dates, so a
// runtime can become deprecated while Cloister runs.
func Deprecated(name string) bool {
	return createBlockedAt(name, time.Now())
}

// UpdateBlocked reports whether AWS also refuses updates (code or
// configuration) to functions that still use the runtime, the second phase
// of deprecation. UpdateBlocked implies Deprecated.
func UpdateBlocked(name string) bool {
	return updateBlockedAt(name, time.Now())
}

func createBlockedAt(name string, now time.Time) bool {
	l, ok := lifecycles[name]
	return ok && !now.Before(l.createBlock)
}

func updateBlockedAt(name string, now time.Time) bool {
	l, ok := lifecycles[name]
	return ok && !now.Before(l.updateBlock)
}
