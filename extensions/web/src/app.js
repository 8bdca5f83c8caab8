console.log("rubberduck");
